"""What segmentation shows on the pages of the apps above it, through crm_project.hooks:
the customer card's classes, and class columns and filters on the customer lists."""

import django_filters
import django_tables2 as tables
from django.db.models import DateField, IntegerField, Subquery
from django.utils.translation import gettext_lazy as _

from crm_project import hooks
from crm_project.dates import business_today
from crm_project.prepared import Prepared

from . import selectors
from .models import CustomerSnapshot

STATUS_CHOICES = CustomerSnapshot.Status.choices
SEGMENT_CHOICES = CustomerSnapshot.Segment.choices


# Compiled once (crm_project.prepared). One row at most (one snapshot per customer and date):
# no ordering, so no join to the customer that the model's ordering would bring.
_CARD_SNAPSHOT = Prepared(
    lambda *, customer, today: CustomerSnapshot.objects.filter(
        customer_id=customer, as_of=Subquery(CustomerSnapshot.objects.latest_date_query(today))
    ).order_by()[:1],
    customer=IntegerField(),
    today=DateField(),
)


def classes_panel(request, customer) -> hooks.Panel:
    """The card's "Classes and figures": the customer's row of the current snapshot. One
    query: the newest run's date (latest_date) is read inside it."""
    rows = _CARD_SNAPSHOT.objects(customer=customer.pk, today=business_today())
    snapshot = rows[0] if rows else None
    return hooks.Panel(template="segmentation/_card_classes.html", context={"snapshot": snapshot}, column="side")


def _annotate_current(queryset):
    return selectors.with_classes(queryset, CustomerSnapshot.objects.latest_date())


class ChoiceLabelColumn(tables.Column):
    """A code shown (and exported) as its label: the annotation holds "vip", people read "VIP"."""

    def __init__(self, *args, choices, **kwargs):
        self.labels = dict(choices)
        super().__init__(*args, default="", **kwargs)

    def render(self, value):
        return self.labels.get(value, value)


def customer_list_columns(list_name: str) -> hooks.ListColumns | None:
    status_label = _("Status") if list_name == "customers" else _("Lifecycle")
    columns = [
        ("lifecycle_status", ChoiceLabelColumn(status_label, choices=STATUS_CHOICES)),
        ("abc_class", tables.Column("ABC", default="")),
        ("xyz_class", tables.Column("XYZ", default="")),
    ]
    filters = {
        "lifecycle_status": django_filters.ChoiceFilter(
            label=status_label,
            choices=STATUS_CHOICES,
            empty_label=_("Any status") if list_name == "customers" else _("Any lifecycle"),
        ),
        "abc_class": django_filters.ChoiceFilter(
            label="ABC", choices=[(c, c) for c in "ABC"], empty_label=_("Any ABC")
        ),
    }
    if list_name == "customers":
        columns.append(("activity_segment", ChoiceLabelColumn(_("Activity"), choices=SEGMENT_CHOICES)))
        filters["xyz_class"] = django_filters.ChoiceFilter(
            label="XYZ", choices=[(c, c) for c in "XYZ"], empty_label=_("Any XYZ")
        )
        filters["activity_segment"] = django_filters.ChoiceFilter(
            label=_("Activity"), choices=SEGMENT_CHOICES, empty_label=_("Any activity")
        )
        return hooks.ListColumns(annotate=_annotate_current, columns=columns, filters=filters, after="manager")
    if list_name == "managed_base":
        return hooks.ListColumns(annotate=_annotate_current, columns=columns, filters=filters, after="maturity")
    return None
