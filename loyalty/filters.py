import django_filters
from django.db.models import Q
from django.forms import DateInput
from django.utils.translation import gettext_lazy as _

from crm_project.filters import ValuesModelChoiceFilter, YesNoFilter, prepared_options

from .models import Campaign, Card, Program, Tier

# The options compiled once (crm_project.prepared) and read as values: as model objects,
# each list read every program and every tier with its program through a server-side
# cursor (DECLARE, FETCH, CLOSE) on every page. str() of a program and a tier is its name.
_PROGRAM_OPTIONS = prepared_options(lambda: Program.objects.all(), ("name",))
_TIER_OPTIONS = prepared_options(lambda: Tier.objects.all(), ("name",))


class CardFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Number or customer"))
    program = ValuesModelChoiceFilter(
        queryset=Program.objects.all(),
        label_fields=("name",),
        label_from_values=str,
        empty_label=_("Any program"),
        options=_PROGRAM_OPTIONS,
    )
    tier = ValuesModelChoiceFilter(
        queryset=Tier.objects.all(),
        label_fields=("name",),
        label_from_values=str,
        empty_label=_("Any tier"),
        options=_TIER_OPTIONS,
    )
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
