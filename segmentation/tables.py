import django_tables2 as tables
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import STATUS_LABELS, CustomerSnapshot


class ClassChangeTable(tables.Table):
    customer = tables.Column(linkify=lambda record: record.customer.get_absolute_url(), order_by=("customer__name",))
    manager = tables.Column(
        accessor="customer__manager", default=_("— pool —"), order_by=("customer__manager__username",)
    )
    previous = tables.Column(_("Was"), default="—")
    now = tables.Column(_("Now"), empty_values=(), orderable=False)
    # Declared, not taken from a model: the rows are snapshots or, for a date whose full
    # snapshot was pruned, class intervals (selectors.classes_as_of), which have no value.
    status = tables.Column(capfirst(CustomerSnapshot._meta.get_field("status").verbose_name))
    abc = tables.Column(_("ABC"))
    xyz = tables.Column(_("XYZ"))
    value = tables.Column(_("ABC value"), orderable=False)

    class Meta:
        order_by = ("customer",)

    def __init__(self, *args, changed_field: str = "abc", **kwargs):
        self.changed_field = changed_field
        super().__init__(*args, **kwargs)

    def _shown(self, code):
        """A status by its label (a class is its own label)."""
        return STATUS_LABELS.get(code, code) if self.changed_field == "status" else code

    def render_previous(self, value):
        return self._shown(value)

    def render_now(self, record):
        return self._shown(getattr(record, self.changed_field)) or "—"

    def value_now(self, record):
        return getattr(record, self.changed_field)
