import django_filters
from django.db.models import Q
from django.forms import DateInput
from django.utils.translation import gettext_lazy as _

from crm_project.filters import YesNoFilter

from .models import Campaign, Card, Program, Tier


class CardFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Number or customer"))
    program = django_filters.ModelChoiceFilter(queryset=Program.objects.all(), empty_label=_("Any program"))
    tier = django_filters.ModelChoiceFilter(queryset=Tier.objects.select_related("program"), empty_label=_("Any tier"))
    status = django_filters.ChoiceFilter(choices=Card.Status.choices, empty_label=_("Any status"))
    bearer = YesNoFilter(field_name="holder", lookup_expr="isnull", label=_("Bearer card"))
    balance_min = django_filters.NumberFilter(field_name="balance", lookup_expr="gte", label=_("Points from"))

    class Meta:
        model = Card
        fields = ["q", "program", "tier", "status", "bearer", "balance_min"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(number=value.replace(" ", "")) | Q(holder__name__icontains=value) | Q(holder__external_ref__iexact=value)
        )


class CampaignFilterSet(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", label=_("Name contains"))
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices, empty_label=_("Any status"))
    started_from = django_filters.DateFilter(
        field_name="started_on", lookup_expr="gte", label=_("Started from"), widget=DateInput(attrs={"type": "date"})
    )
    started_to = django_filters.DateFilter(
        field_name="started_on", lookup_expr="lte", label=_("Started up to"), widget=DateInput(attrs={"type": "date"})
    )

    class Meta:
        model = Campaign
        fields = ["name", "status", "started_from", "started_to"]
