import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

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
    # "Any" rather than django-filter's "Unknown" for the empty choice: a person reads it.
    unassigned = django_filters.BooleanFilter(
        field_name="manager",
        lookup_expr="isnull",
        label=_("Unassigned"),
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )
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
