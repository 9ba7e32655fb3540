import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm_project.filters import YesNoFilter
from customers.access import managers_visible
from customers.filters import customer_search
from customers.models import Customer
from segmentation.models import CustomerSnapshot

from .models import KpiCustomerRow

STATUS_CHOICES = CustomerSnapshot.Status.choices  # the codes the rows hold, by their labels
CLASS_CHOICES = [("A", "A"), ("B", "B"), ("C", "C")]


class KpiCustomerFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Customer"))
    manager = django_filters.ModelChoiceFilter(
        field_name="manager", queryset=managers_visible, label=_("Manager"), empty_label=_("Any manager")
    )
    status_end = django_filters.ChoiceFilter(choices=STATUS_CHOICES, label=_("Status at end"), empty_label=_("Any"))
    abc_end = django_filters.ChoiceFilter(choices=CLASS_CHOICES, label=_("ABC at end"), empty_label=_("Any"))
    changed = YesNoFilter(method="class_changed", label=_("Class changed"))
    bought = YesNoFilter(method="with_sales", label=_("Bought in the period"))
    # The period travels with the filters (the view reads it; here it is only kept).
    start = django_filters.DateFilter(method="keep", widget=forms.HiddenInput)
    end = django_filters.DateFilter(method="keep", widget=forms.HiddenInput)

    class Meta:
        model = KpiCustomerRow
        fields = ["q", "manager", "status_end", "abc_end", "changed", "bought", "start", "end"]

    def keep(self, queryset, name, value):
        return queryset

    def search(self, queryset, name, value):
        return queryset.filter(customer__in=customer_search(Customer.objects.all(), value))

    def class_changed(self, queryset, name, value):
        from django.db.models import F, Q

        changed = ~Q(abc_start=F("abc_end")) | ~Q(xyz_start=F("xyz_end"))
        return queryset.filter(changed) if value else queryset.exclude(changed)

    def with_sales(self, queryset, name, value):
        from django.db.models import Q

        sold = ~Q(primary_amount=0) | ~Q(repeat_amount=0) | ~Q(new_direction_amount=0)
        return queryset.filter(sold) if value else queryset.exclude(sold)
