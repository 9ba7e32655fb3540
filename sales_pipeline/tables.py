import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm_project.tables import LeanDateColumn

from .models import SettlementImport, SettlementLine


class SettlementLineTable(tables.Table):
    # a day holds thousands of lines: by customer within it, so that the ledger's (date,
    # customer) index gives the order and the key only breaks ties among a customer's lines
    date = LeanDateColumn(order_by=("date", "customer_id"))
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    product = tables.Column(accessor="product__sku", verbose_name=_("Product"), default="")
    manager = tables.Column(order_by=("manager__username",), default="")

    class Meta:
        model = SettlementLine
        fields = ("date", "customer", "product", "quantity", "amount", "cost", "manager", "document")
        order_by = ("-date",)


class SettlementImportTable(tables.Table):
    file_name = tables.Column(
        verbose_name=_("File"), linkify=("sales_pipeline:settlement_import_detail", [tables.A("pk")])
    )
    created_by = tables.Column(verbose_name=_("By"), default=_("system"))
    errors = tables.Column(verbose_name=_("Errors"), orderable=False)

    class Meta:
        model = SettlementImport
        fields = (
            "file_name", "status", "dry_run", "created_by", "created_at", "rows_total",
            "lines_created", "lines_skipped", "customers_created", "products_created", "errors",
        )  # fmt: skip
        order_by = ("-created_at",)

    def render_errors(self, value):
        return len(value) or "—"
