"""The complaint and survey lists' filters (list recipe: these FilterSets, tables and ScopedListView)."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from crm_project.filters import ValuesModelChoiceFilter, prepared_options
from customers.models import Product

from .models import CauseCategory, Complaint, Severity, Step, Survey

YES_NO = [("true", _("Yes")), ("false", _("No"))]


def _owners(request=None):
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    return users.filter(complaints__isnull=False).distinct()


def products_named_by(model):
    """The products some `model` row names: a list's product filter offers what can match,
    not the catalogue's thousands (2,000 options read on every page were a tenth of it)."""
    return Product.objects.filter(Exists(model.objects.filter(product=OuterRef("pk"))))


# The options read as values through statements compiled once per process (crm_project.prepared;
# issue 15): as model objects, the owners and cause categories were each read through a
# server-side cursor on PostgreSQL, and building the three querysets cost more than running
# them. None depends on the viewer. The querysets are built only to validate a chosen key.
_COMPLAINT_PRODUCT_OPTIONS = prepared_options(lambda: products_named_by(Complaint), ("name", "sku"))
_SURVEY_PRODUCT_OPTIONS = prepared_options(lambda: products_named_by(Survey), ("name", "sku"))
_CAUSE_OPTIONS = prepared_options(lambda: CauseCategory.objects.all(), ("name",))
_OWNER_OPTIONS = prepared_options(_owners, ("username",))


class ComplaintFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    step = django_filters.ChoiceFilter(choices=Step.choices, empty_label=_("Any step"))
    open = django_filters.ChoiceFilter(choices=YES_NO, method="only_open", label=_("Open"), empty_label=_("Any"))
    overdue = django_filters.ChoiceFilter(choices=YES_NO, method="only_overdue", label=_("Overdue"),
                                          empty_label=_("Any"))
    kind = django_filters.ChoiceFilter(choices=Complaint.Kind.choices, empty_label=_("Any kind"))
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label=_("Any severity"))
    channel = django_filters.ChoiceFilter(choices=Complaint.Channel.choices, empty_label=_("Any channel"))
    product = ValuesModelChoiceFilter(
        queryset=products_named_by(Complaint), label_fields=("name", "sku"), label_from_values=Product.label,
        empty_label=_("Any product"), options=_COMPLAINT_PRODUCT_OPTIONS,
    )
    # str() of a cause category is its name, of a user their username
    cause_category = ValuesModelChoiceFilter(queryset=CauseCategory.objects.all(), label_fields=("name",),
                                             label_from_values=str, empty_label=_("Any cause"),
                                             options=_CAUSE_OPTIONS)
    owner = ValuesModelChoiceFilter(queryset=_owners, label_fields=("username",), label_from_values=str,
                                    empty_label=_("Any owner"), options=_OWNER_OPTIONS)
    registered_from = django_filters.DateFilter(field_name="registered_at", lookup_expr="date__gte",
                                                label=_("Registered from"))
    registered_to = django_filters.DateFilter(field_name="registered_at", lookup_expr="date__lte",
                                              label=_("Registered until"))

    class Meta:
        model = Complaint
        fields = ["q", "step", "open", "overdue", "kind", "severity", "channel", "product", "cause_category",
                  "owner", "registered_from", "registered_to"]

    def search(self, queryset, name, value):
        query = Q(customer__name__icontains=value) | Q(description__icontains=value)
        if value.lstrip("#").isdigit():
            query |= Q(pk=int(value.lstrip("#")))
        return queryset.filter(query)

    def only_open(self, queryset, name, value):
        return queryset.exclude(step=Step.CLOSED) if value == "true" else queryset.filter(step=Step.CLOSED)

    def only_overdue(self, queryset, name, value):
        return queryset.filter(is_overdue=value == "true")


class SurveyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="customer__name", lookup_expr="icontains", label=_("Customer"))
    channel = django_filters.ChoiceFilter(choices=Survey.Channel.choices, empty_label=_("Any channel"))
    reason = django_filters.ChoiceFilter(choices=Survey.Reason.choices, empty_label=_("Any reason"))
    answered = django_filters.ChoiceFilter(choices=YES_NO, method="by_answered", label=_("Answered"),
                                           empty_label=_("Any"))
    product = ValuesModelChoiceFilter(
        queryset=products_named_by(Survey), label_fields=("name", "sku"), label_from_values=Product.label,
        empty_label=_("Any product"), options=_SURVEY_PRODUCT_OPTIONS,
    )

    class Meta:
        model = Survey
        fields = ["q", "channel", "reason", "answered", "product"]

    def by_answered(self, queryset, name, value):
        return queryset.filter(answered_at__isnull=value != "true")
