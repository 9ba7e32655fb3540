"""The complaint and survey lists' filter options read through compiled statements
(complaints.filters, issue 15): the same <select>s as django-filter's ModelChoiceFilters
drew from model objects, the same validation, and the options drawn once per process. A
product filter offers the products the list's rows name, not the whole catalogue."""

import django_filters
import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from complaints.filters import ComplaintFilterSet, SurveyFilterSet
from complaints.models import CauseCategory, Complaint
from crm_project import form_tags
from crm_project.filters import ValuesModelChoiceFilter
from crm_project.form_tags import bootstrap_field
from customers.models import Product
from tests.factories import ProductFactory, UserFactory

from .test_views import register


class Original(django_filters.FilterSet):
    """The filters as they were: model objects."""

    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.filter(complaints__isnull=False).distinct(), empty_label="Any product"
    )
    cause_category = django_filters.ModelChoiceFilter(queryset=CauseCategory.objects.all(), empty_label="Any cause")
    owner = django_filters.ModelChoiceFilter(
        queryset=lambda request: get_user_model().objects.filter(is_active=True).order_by("username")
        .filter(complaints__isnull=False).distinct(),
        empty_label="Any owner",
    )

    class Meta:
        model = Complaint
        fields = ["product", "cause_category", "owner"]


def request_of(user):
    request = RequestFactory().get("/complaints/")
    request.user = user
    return request


@pytest.fixture
def owners(cust_a, mgr_a, mgr_b, product):
    """Complaints owned by mgr_a and by a user with a name to escape; mgr_b owns none, an
    inactive owner is left out."""
    odd = UserFactory(username="o'neil&<co>")
    gone = UserFactory(username="gone", is_active=False)
    CauseCategory.objects.create(name="<Late> & lost")
    CauseCategory.objects.create(name="Packaging")
    bolt = ProductFactory(sku="S-1", name="<b>Bolt</b> & nut")
    ProductFactory(sku="S-2", name="Never complained of")
    register(cust_a, mgr_a, product=product, days_ago=3)
    register(cust_a, odd, product=bolt, days_ago=2)
    register(cust_a, odd, days_ago=1)
    register(cust_a, gone, days_ago=1)
    return {"odd": odd, "gone": gone}


def test_the_options_are_model_choice_filters_options(owners, mgr_a, product):
    request = request_of(mgr_a)
    category = CauseCategory.objects.get(name="Packaging")
    cases = ({}, {"owner": str(owners["odd"].pk)}, {"owner": str(owners["gone"].pk)}, {"owner": "x"},
             {"cause_category": str(category.pk)}, {"product": str(product.pk)}, {"cause_category": "0"})
    for data in cases:
        lean, original = ComplaintFilterSet(data=data, request=request), Original(data=data, request=request)
        for name in ("product", "cause_category", "owner"):
            assert bootstrap_field(lean.form[name]) == bootstrap_field(original.form[name]), (data, name)
        assert lean.form.is_valid() == original.form.is_valid(), data
    html = bootstrap_field(ComplaintFilterSet(data={}, request=request).form["owner"])
    assert "o&#x27;neil&amp;&lt;co&gt;" in html and "mgr_a" in html
    assert "mgr_b" not in html and "gone" not in html
    html = bootstrap_field(ComplaintFilterSet(data={}, request=request).form["product"])
    assert "&lt;b&gt;Bolt&lt;/b&gt; &amp; nut" in html and "Never complained of" not in html
    # a new owner is among the options on the next page
    register(owners["odd"].complaints.first().customer, get_user_model().objects.get(username="mgr_b"), days_ago=1)
    html = bootstrap_field(ComplaintFilterSet(data={}, request=request).form["owner"])
    assert html == bootstrap_field(Original(data={}, request=request).form["owner"]) and "mgr_b" in html


def test_the_filters_filter_as_before(owners, mgr_a, product):
    request = request_of(mgr_a)
    for data in ({"owner": str(owners["odd"].pk)}, {"product": str(product.pk)}):
        lean = ComplaintFilterSet(data=data, queryset=Complaint.objects.all(), request=request)
        original = Original(data=data, queryset=Complaint.objects.all(), request=request)
        assert sorted(lean.qs.values_list("pk", flat=True)) == sorted(original.qs.values_list("pk", flat=True))
    assert ComplaintFilterSet(data={"owner": str(owners["odd"].pk)}, queryset=Complaint.objects.all(),
                              request=request).qs.count() == 2


def test_every_model_filter_reads_its_options_through_a_compiled_statement():
    for filterset, names in ((ComplaintFilterSet, ("product", "cause_category", "owner")),
                             (SurveyFilterSet, ("product",))):
        for name in names:
            declared = filterset.base_filters[name]
            assert isinstance(declared, ValuesModelChoiceFilter) and declared.options is not None, name


def test_the_options_are_drawn_once_for_every_request(owners, mgr_a):
    """Kept under the filter's options, not under a function made per request: then the
    options were drawn again on every page and a copy kept each time."""
    request = request_of(mgr_a)
    form_tags._OPTIONS.clear()
    drawn = None
    for _ in range(3):
        form = ComplaintFilterSet(data={}, request=request).form
        for name in ("product", "cause_category", "owner"):
            bootstrap_field(form[name])
        drawn = drawn or dict(form_tags._OPTIONS)
        assert len(form_tags._OPTIONS) == 3
        assert all(form_tags._OPTIONS[key] is kept for key, kept in drawn.items())
    bootstrap_field(SurveyFilterSet(data={}, request=request).form["product"])
    assert len(form_tags._OPTIONS) == 4  # the survey list's products: those surveys name


def test_the_survey_list_offers_the_products_surveys_name(owners, cust_a, mgr_a, product, questions, client_for):
    html = bootstrap_field(SurveyFilterSet(data={}, request=request_of(mgr_a)).form["product"])
    assert "Any product" in html and "Bolt" not in html and product.name not in html  # no survey yet
    client_for(mgr_a).post(reverse("complaints:survey_start"), {"customer": cust_a.pk, "product": product.pk,
                                                               "channel": "call"})
    html = bootstrap_field(SurveyFilterSet(data={}, request=request_of(mgr_a)).form["product"])
    assert f'<option value="{product.pk}">' in html and "Bolt" not in html
