import django_tables2 as tables

from .models import Deal


class DealTable(tables.Table):
    title = tables.Column(linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    manager = tables.Column(order_by=("manager__username",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    paid = tables.Column(orderable=False, attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})

    class Meta:
        model = Deal
        fields = (
            "title",
            "customer",
            "stage",
            "status",
            "amount",
            "paid",
            "manager",
            "sale_type",
            "source",
            "expected_close",
            "created_at",
        )
        order_by = ("-created_at",)
