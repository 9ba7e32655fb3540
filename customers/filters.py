import django_filters
from django.db.models import Q

from .access import managers_visible
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


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, empty_label="Any kind")
    manager = django_filters.ModelChoiceFilter(queryset=managers_visible, empty_label="Any manager")
    unassigned = django_filters.BooleanFilter(field_name="manager", lookup_expr="isnull", label="Unassigned")
    industry = django_filters.CharFilter(lookup_expr="icontains")
    city = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Customer
        fields = [
            "q",
            "kind",
            "manager",
            "unassigned",
            "industry",
            "city",
        ]

    def search(self, queryset, name, value):
        return customer_search(queryset, value)
