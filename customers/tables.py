import django_tables2 as tables

from segmentation.models import CustomerSnapshot

from .models import Customer


class CustomerTable(tables.Table):
    name = tables.Column(linkify=True)
    manager = tables.Column(order_by=("manager__username",), default="— pool —")
    lifecycle_status = tables.Column("Status", default="")
    abc_class = tables.Column("ABC", default="")
    xyz_class = tables.Column("XYZ", default="")
    activity_segment = tables.Column("Activity", default="")

    def render_lifecycle_status(self, value):
        return dict(CustomerSnapshot.Status.choices).get(value, value)

    def render_activity_segment(self, value):
        # The annotation holds the code ("vip"); people read the label ("VIP").
        return dict(CustomerSnapshot.Segment.choices).get(value, value)

    class Meta:
        model = Customer
        fields = (
            "name",
            "external_ref",
            "kind",
            "industry",
            "city",
            "manager",
            "lifecycle_status",
            "abc_class",
            "xyz_class",
            "activity_segment",
            "phone",
            "email",
            "created_at",
        )
        order_by = ("name",)
