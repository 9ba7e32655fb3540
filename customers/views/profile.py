"""Profile helpers: the competitor directory and the customer picker's search."""

import django_filters
import django_tables2 as tables
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count, Q
from django.http import HttpResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_project.views import ScopedListView

from ..access import customer_scope
from ..filters import customer_search
from ..models import Competitor, Customer

PICKER_LIMIT = 20

#
# Competitor directory
#


class CompetitorFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=gettext_lazy("Search"))

    class Meta:
        model = Competitor
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(strengths__icontains=value) | Q(weaknesses__icontains=value)
        )


class CompetitorTable(tables.Table):
    customers = tables.Column(gettext_lazy("Your customers they supply"), attrs={"td": {"class": "text-end"}})
    strengths = tables.Column(attrs={"td": {"class": "text-wrap"}})
    weaknesses = tables.Column(attrs={"td": {"class": "text-wrap"}})

    class Meta:
        model = Competitor
        fields = ("name", "strengths", "weaknesses", "customers")
        order_by = ("name",)


class CompetitorListView(ScopedListView):
    """The list recipe, with the export. Competitors are company-wide reference data
    (edited in admin), not customer data, so every user sees every competitor; only the
    count of customers each one supplies is narrowed to the user's own scope."""

    model = Competitor
    permission_required = "customers.view_customer"
    filterset_class = CompetitorFilterSet
    table_class = CompetitorTable
    template_name = "customers/competitor_list.html"
    export_name = "competitors"

    def get_queryset(self):
        scope = customer_scope(self.request.user, prefix="customer_links__customer__")
        supplied = Count("customer_links__customer", filter=scope or None, distinct=True)
        return Competitor.objects.annotate(customers=supplied)


#
# Customer picker (referred by): options for an htmx search
#


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_options(request):
    """<option>s for the referred-by select: the current choice, then up to
    PICKER_LIMIT customers of the user's scope matching `referrer_q`."""
    visible = Customer.objects.visible_to(request.user).order_by("name", "pk")
    exclude = request.GET.get("exclude", "")
    if exclude.isdigit():
        visible = visible.exclude(pk=int(exclude))
    current = request.GET.get("referred_by", "")
    chosen = list(visible.filter(pk=int(current))[:1]) if current.isdigit() else []
    query = request.GET.get("referrer_q", "").strip()
    found = list(customer_search(visible, query).exclude(pk__in=[c.pk for c in chosen])[:PICKER_LIMIT]) if query else []
    options = mark_safe('<option value="">—</option>')  # noqa: S308 - a constant
    options += format_html_join("", '<option value="{}" selected>{}</option>', ((c.pk, c.name) for c in chosen))
    options += format_html_join(
        "", '<option value="{}">{}{}</option>', ((c.pk, c.name, f" · {c.city}" if c.city else "") for c in found)
    )
    if query and not found:
        options += format_html(
            '<option value="" disabled>{}</option>', _("No match for “%(query)s”") % {"query": query}
        )
    return HttpResponse(options)


urlpatterns = [
    path("competitors/", CompetitorListView.as_view(), name="competitor_list"),
    path("options/", customer_options, name="customer_options"),
]
