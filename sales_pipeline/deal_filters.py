"""The deal list's filters (list recipe: this FilterSet, deal_tables.DealTable and
views.deals.DealListView)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.access import manager_choices
from customers.models import ProductLine, SalesTeam

from .models import Deal, Stage


def _managers(request):
    return manager_choices(request.user) if request is not None else None


class DealFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label=_("Any stage"))
    status = django_filters.ChoiceFilter(choices=Deal.Status.choices, empty_label=_("Any status"))
    manager = django_filters.ModelChoiceFilter(queryset=_managers, empty_label=_("Any manager"))
    team = django_filters.ModelChoiceFilter(
        queryset=SalesTeam.objects.all(), field_name="manager__team_membership__team", label=_("Team"),
        empty_label=_("Any team"),
    )
    sale_type = django_filters.ChoiceFilter(choices=Deal.SaleType.choices, empty_label=_("Any sale type"))
    product_line = django_filters.ModelChoiceFilter(
        queryset=ProductLine.objects.all(), method="by_product_line", label=_("Product line"),
        empty_label=_("Any product line"),
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
