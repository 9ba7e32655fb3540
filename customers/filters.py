import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm_project.filters import YesNoFilter

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
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, empty_label=_("Any kind"), label=_("Kind"))
    manager = django_filters.ModelChoiceFilter(
        queryset=managers_visible, empty_label=_("Any manager"), label=_("Manager")
    )
    unassigned = YesNoFilter(field_name="manager", lookup_expr="isnull", label=_("Unassigned"))
    industry = django_filters.CharFilter(lookup_expr="icontains", label=_("Industry contains"))
    city = django_filters.CharFilter(lookup_expr="icontains", label=_("City contains"))

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
