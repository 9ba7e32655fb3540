import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.filters import ManagerFilter

from .models import SettlementLine


class SettlementLineFilterSet(django_filters.FilterSet):
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("From"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("To"))
    customer = django_filters.CharFilter(method="by_customer", label=_("Customer (name or reference)"))
    product = django_filters.CharFilter(method="by_product", label=_("Product (SKU or name)"))
    manager = ManagerFilter(empty_label=_("Any manager"))
    document = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = SettlementLine
        fields = ["date_from", "date_to", "customer", "product", "manager", "document"]

    def by_customer(self, queryset, name, value):
        return queryset.filter(Q(customer__external_ref__iexact=value) | Q(customer__name__icontains=value))

    def by_product(self, queryset, name, value):
        return queryset.filter(Q(product__sku__iexact=value) | Q(product__name__icontains=value))
