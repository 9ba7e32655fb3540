import django_filters

from customers.access import managers_visible
from customers.filters import customer_search
from customers.models import Customer

from .models import CustomerSnapshot


class ClassChangeFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Customer")
    manager = django_filters.ModelChoiceFilter(
        field_name="customer__manager", queryset=managers_visible, empty_label="Any manager"
    )

    class Meta:
        model = CustomerSnapshot
        fields = ["q", "manager"]

    def search(self, queryset, name, value):
        return queryset.filter(customer__in=customer_search(Customer.objects.all(), value))
