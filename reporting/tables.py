import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm_project import charts
from crm_project.number_text import grouped
from segmentation.models import STATUS_LABELS

from .models import KpiCustomerRow


class KpiCustomerTable(tables.Table):
    customer = tables.Column(_("Customer"), linkify=lambda record: record.customer.get_absolute_url(),
                             order_by=("name", "id"))  # fmt: skip
    reference = tables.Column(_("Reference"), accessor="customer__external_ref", default="")
    manager = tables.Column(_("Manager"), accessor="manager", default=_("— pool —"),
                            order_by=("manager__username", "name"))  # fmt: skip
    status_start = tables.Column(_("Status at start"), default="—")
    status_end = tables.Column(_("Status at end"), default="—")
    abc_start = tables.Column(_("ABC at start"), default="—")
    abc_end = tables.Column(_("ABC at end"), default="—")
    xyz_start = tables.Column(_("XYZ at start"), default="—")
    xyz_end = tables.Column(_("XYZ at end"), default="—")
    primary_amount = tables.Column(_("Primary"), attrs={"td": {"class": "text-end"}})
    repeat_amount = tables.Column(_("Repeat"), attrs={"td": {"class": "text-end"}})
    new_direction_amount = tables.Column(_("New direction"), attrs={"td": {"class": "text-end"}})
    products_in_use = tables.Column(_("Products in use"), attrs={"td": {"class": "text-end"}})
    maturity = tables.Column(_("Maturity"), default="—", attrs={"td": {"class": "text-end"}})
    monthly = tables.Column(_("Year to end"), orderable=False)

    class Meta:
        model = KpiCustomerRow
        fields = ()
        sequence = ("customer", "reference", "manager", "status_start", "status_end", "abc_start", "abc_end",
                    "xyz_start", "xyz_end", "primary_amount", "repeat_amount", "new_direction_amount",
                    "products_in_use", "maturity", "monthly")  # fmt: skip
        order_by = ("customer",)
        exclude_from_export = ("monthly",)
        attrs = {"class": "table table-sm table-hover", "id": "kpi-customers"}

    def render_primary_amount(self, value):
        return grouped(value, 2)

    render_repeat_amount = render_new_direction_amount = render_primary_amount

    def value_primary_amount(self, value):
        return value

    value_repeat_amount = value_new_direction_amount = value_primary_amount

    def render_status_start(self, value):
        return STATUS_LABELS.get(value, value)

    render_status_end = render_status_start

    def render_maturity(self, record):
        if record.maturity is None:
            return "—"
        return f"{record.in_use_count}/{record.target_count} ({record.maturity:.0%})"

    def value_maturity(self, record):
        return None if record.maturity is None else round(record.maturity, 4)

    def render_monthly(self, value):
        # The label translated once per table, not once per row (a lazy string formats each time).
        if not hasattr(self, "_sparkline_label"):
            self._sparkline_label = str(_("Monthly sales, the year to the period's end"))
        return charts.sparkline([v / 10_000 for v in value], label=self._sparkline_label)
