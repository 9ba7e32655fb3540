import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from segmentation.classification import STATUSES
from segmentation.models import CustomerSnapshot

from .models import Customer


def customer_search(queryset, value: str):
    """Free-text match shared by the list filter and the global search box."""
    return queryset.filter(
        Q(name__icontains=value)
        | Q(external_ref__iexact=value)
        | Q(email__icontains=value)
        | Q(phone__icontains=value)
        | Q(city__icontains=value)
    )


def managers_visible(request):
    if request is None:
        return get_user_model().objects.none()
    visible = Customer.objects.visible_to(request.user).values("manager")
    return get_user_model().objects.filter(pk__in=visible).order_by("username")


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, empty_label="Any kind")
    manager = django_filters.ModelChoiceFilter(queryset=managers_visible, empty_label="Any manager")
    unassigned = django_filters.BooleanFilter(field_name="manager", lookup_expr="isnull", label="Unassigned")
    lifecycle_status = django_filters.ChoiceFilter(
        label="Status", choices=[(s, s.capitalize()) for s in STATUSES], empty_label="Any status"
    )
    abc_class = django_filters.ChoiceFilter(label="ABC", choices=[(c, c) for c in "ABC"], empty_label="Any ABC")
    xyz_class = django_filters.ChoiceFilter(label="XYZ", choices=[(c, c) for c in "XYZ"], empty_label="Any XYZ")
    activity_segment = django_filters.ChoiceFilter(
        label="Activity", choices=CustomerSnapshot.Segment.choices, empty_label="Any activity"
    )
    industry = django_filters.CharFilter(lookup_expr="icontains")
    city = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = [
            "q",
            "kind",
            "manager",
            "unassigned",
            "lifecycle_status",
            "abc_class",
            "xyz_class",
            "activity_segment",
            "industry",
            "city",
        ]

    def search(self, queryset, name, value):
        return customer_search(queryset, value)
