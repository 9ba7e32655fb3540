import django_tables2 as tables

from .models import CustomerSnapshot


class ClassChangeTable(tables.Table):
    customer = tables.Column(linkify=lambda record: record.customer.get_absolute_url(), order_by=("customer__name",))
    manager = tables.Column(accessor="customer__manager", default="— pool —", order_by=("customer__manager__username",))
    previous = tables.Column("Was", default="—")
    now = tables.Column("Now", empty_values=(), orderable=False)
    # Declared, not taken from a model: the rows are snapshots or, for a date whose full
    # snapshot was pruned, class intervals (selectors.classes_as_of), which have no value.
    status = tables.Column(CustomerSnapshot._meta.get_field("status").verbose_name.capitalize())
    abc = tables.Column("ABC")
    xyz = tables.Column("XYZ")
    value = tables.Column("ABC value", orderable=False)

    class Meta:
        order_by = ("customer",)

    def __init__(self, *args, changed_field: str = "abc", **kwargs):
        self.changed_field = changed_field
        super().__init__(*args, **kwargs)

    def render_now(self, record):
        return getattr(record, self.changed_field) or "—"

    def value_now(self, record):
        return getattr(record, self.changed_field)
