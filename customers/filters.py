import django_filters
from django.db import connections
from django.db.models import CharField, Func, Q
from django.db.models.lookups import IContains
from django.utils.translation import gettext_lazy as _

from crm_project.filters import ValuesModelChoiceFilter, YesNoFilter, prepared_options

from .access import managers_visible, managers_visible_shape, managers_visible_to
from .models import Customer


class NameForWords(Func):
    """The customer's name as the GiST trigram index customer_name_words_trgm holds it
    (customers 0015): `name || ''`, the same text under another expression, so that
    PostgreSQL takes that index only when the search asks for it."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def _name_contains(queryset, value: str) -> Q:
    """The name contains `value` (icontains). On PostgreSQL a search of several words
    reads the GiST trigram index (NameForWords), one word the GIN one (issue 15): GIN reads
    every trigram's whole list of names, so "bench customer 12", whose trigrams but two are
    in every name, took 20-40 ms to count at 50,000 customers, 3-4 ms through GiST; a short
    word ("ltd") is the other way round (0.2 ms GIN, 6-13 ms GiST)."""
    if len(value.split()) > 1 and connections[queryset.db].vendor == "postgresql":
        return Q(IContains(NameForWords("name"), value))
    return Q(name__icontains=value)


def customer_search(queryset, value: str):
    """Free-text match shared by the list filter and the global search box."""
    return queryset.filter(
        _name_contains(queryset, value)
        | Q(external_ref__iexact=value)
        | Q(email__icontains=value)
        | Q(phone__icontains=value)
        | Q(city__icontains=value)
    )


class ManagerFilter(ValuesModelChoiceFilter):
    """The managers of the customers the user sees (access.managers_visible), their
    options read as (key, username): str() of a user is its username. The queryset is built
    only to validate a chosen manager."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", managers_visible)
        kwargs.setdefault("label_fields", ("username",))
        kwargs.setdefault("label_from_values", str)
        kwargs.setdefault("options", _MANAGER_OPTIONS)
        super().__init__(*args, **kwargs)


# the options compiled once per user's scope (crm_project.prepared), as managers_visible gives them
_MANAGER_OPTIONS = prepared_options(
    lambda user, key: managers_visible_to(user), ("username",), shape=managers_visible_shape
)


class CustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, empty_label=_("Any kind"), label=_("Kind"))
    manager = ManagerFilter(empty_label=_("Any manager"), label=_("Manager"))
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
