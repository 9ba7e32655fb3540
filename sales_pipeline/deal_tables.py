from decimal import Decimal

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Deal


class DealTable(tables.Table):
    title = tables.Column(linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    manager = tables.Column(order_by=("manager__username",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    paid = tables.Column(
        verbose_name=_("Paid"), orderable=False, attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )

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

    def render_paid(self, value):
        return _cents(value)

    def value_paid(self, value):
        return _cents(value)


def _cents(value):
    """The payments' sum to the cent: SQLite hands a subquery's SUM back as a float-made
    decimal (7497.36000000000) where PostgreSQL gives 7497.36."""
    return Decimal(value).quantize(Decimal("0.01")) if value is not None else value
