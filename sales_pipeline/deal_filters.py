"""The deal list's filters (list recipe: this FilterSet, deal_tables.DealTable and
views.deals.DealListView)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm_project.filters import ValuesModelChoiceFilter, prepared_options
from customers.access import manager_choices, scope_key
from customers.models import ProductLine, SalesTeam

from .models import Deal, Stage


def _managers(request):
    return manager_choices(request.user) if request is not None else None


def _managers_shape(request):
    return (request.user, scope_key(request.user)) if request is not None else None


# The options compiled once per user's scope, or once (crm_project.prepared): the same rows
# as the querysets give; the querysets are built only to validate a chosen key.
_MANAGER_OPTIONS = prepared_options(lambda user, key: manager_choices(user), ("username",), shape=_managers_shape)
_TEAM_OPTIONS = prepared_options(lambda: SalesTeam.objects.all(), ("name",))
_PRODUCT_LINE_OPTIONS = prepared_options(lambda: ProductLine.objects.all(), ("name",))


class DealFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label=_("Any stage"))
    status = django_filters.ChoiceFilter(choices=Deal.Status.choices, empty_label=_("Any status"))
    # The model choices read as values, one query each (crm_project.filters): as model
    # objects, each was read through a server-side cursor on PostgreSQL (DECLARE, FETCH,
    # CLOSE) on every deal list. str() of a user, a team and a line is its username or name.
    manager = ValuesModelChoiceFilter(
        queryset=_managers,
        label_fields=("username",),
        label_from_values=str,
        empty_label=_("Any manager"),
        options=_MANAGER_OPTIONS,
    )
    team = ValuesModelChoiceFilter(
        queryset=SalesTeam.objects.all(),
        label_fields=("name",),
        label_from_values=str,
        field_name="manager__team_membership__team",
        label=_("Team"),
        empty_label=_("Any team"),
        options=_TEAM_OPTIONS,
    )
    sale_type = django_filters.ChoiceFilter(choices=Deal.SaleType.choices, empty_label=_("Any sale type"))
    product_line = ValuesModelChoiceFilter(
        queryset=ProductLine.objects.all(),
        label_fields=("name",),
        label_from_values=str,
        method="by_product_line",
        label=_("Product line"),
        empty_label=_("Any product line"),
        options=_PRODUCT_LINE_OPTIONS,
    )
    expected_from = django_filters.DateFilter(field_name="expected_close", lookup_expr="gte", label=_("Expected from"))
    expected_to = django_filters.DateFilter(field_name="expected_close", lookup_expr="lte", label=_("Expected until"))
    created_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("Created from"))
    created_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("Created until"))

    class Meta:
        model = Deal
        fields = [
            "q",
            "stage",
            "status",
            "manager",
            "team",
            "sale_type",
            "product_line",
            "expected_from",
            "expected_to",
            "created_from",
            "created_to",
        ]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value) | Q(customer__name__icontains=value) | Q(customer__external_ref__iexact=value)
        )

    def by_product_line(self, queryset, name, value):
        return queryset.filter(pk__in=Deal.objects.filter(lines__product__line=value).values("pk"))
