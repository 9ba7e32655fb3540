import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Customer


class CustomerTable(tables.Table):
    """The customer list; apps below add columns through hooks.CUSTOMER_COLUMNS (customers.lists)."""

    name = tables.Column(linkify=True)
    manager = tables.Column(order_by=("manager__username",), default=_("— pool —"))

    class Meta:
        model = Customer
        fields = (
            "name",
            "external_ref",
            "kind",
            "industry",
            "city",
            "manager",
            "phone",
            "email",
            "created_at",
        )
        order_by = ("name",)
