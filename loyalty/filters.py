import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Card, Program, Tier


class CardFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Number or customer"))
    program = django_filters.ModelChoiceFilter(queryset=Program.objects.all(), empty_label=_("Any program"))
    tier = django_filters.ModelChoiceFilter(queryset=Tier.objects.select_related("program"), empty_label=_("Any tier"))
    status = django_filters.ChoiceFilter(choices=Card.Status.choices, empty_label=_("Any status"))
    bearer = django_filters.BooleanFilter(field_name="holder", lookup_expr="isnull", label=_("Bearer card"))
    balance_min = django_filters.NumberFilter(field_name="balance", lookup_expr="gte", label=_("Points from"))

    class Meta:
        model = Card
        fields = ["q", "program", "tier", "status", "bearer", "balance_min"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(number=value.replace(" ", "")) | Q(holder__name__icontains=value) | Q(holder__external_ref__iexact=value)
        )
