import django_filters
from django.utils.translation import gettext_lazy as _

from customers.filters import ManagerFilter, customer_search
from customers.models import Customer

from .models import CustomerSnapshot


class ClassChangeFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Customer"))
    # the options through the customer list's statement compiled per viewer's scope
    # (customers.filters.ManagerFilter), not a queryset of users built and read per page
    manager = ManagerFilter(field_name="customer__manager", label=_("Customer manager"), empty_label=_("Any manager"))

    class Meta:
        model = CustomerSnapshot
        fields = ["q", "manager"]

    def search(self, queryset, name, value):
        return queryset.filter(customer__in=customer_search(Customer.objects.all(), value))
