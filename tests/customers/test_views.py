import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer
from tests.factories import CustomerFactory


def test_the_customer_list_filters_sorts_and_paginates(mgr_a, client_for, settings):
    CustomerFactory.create_batch(30, manager=mgr_a, city="Leeds")
    CustomerFactory(name="Zeta Leeds Ltd", manager=mgr_a, city="York")
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    # filter
    response = client.get(url, {"city": "york"})
    assert [row.record.name for row in response.context["table"].page.object_list] == ["Zeta Leeds Ltd"]
    # sort, descending by name
    response = client.get(url, {"sort": "-name"})
    assert response.context["table"].page.object_list[0].record.name == "Zeta Leeds Ltd"
    # paginate
    assert response.context["table"].paginator.num_pages == 2
    assert client.get(url, {"page": 2}).status_code == 200


def test_the_export_follows_the_filter_and_the_sort(mgr_a, client_for):
    for name in ["Beta", "Alpha", "Gamma"]:
        CustomerFactory(name=name, manager=mgr_a, city="Leeds")
    CustomerFactory(name="Other", manager=mgr_a, city="York")
    response = client_for(mgr_a).get(
        reverse("customers:customer_list"), {"city": "Leeds", "sort": "-name", "_export": "csv"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["Gamma", "Beta", "Alpha"]
    assert response["Content-Disposition"] == 'attachment; filename="customers.csv"'


def test_the_list_runs_the_same_queries_whatever_the_size(mgr_a, client_for):
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")

    def queries_with(count):
        CustomerFactory.create_batch(count, manager=mgr_a)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small, large = queries_with(3), queries_with(80)
    assert small == large <= 15


def test_a_manager_creates_a_customer_who_is_theirs(mgr_a, client_for):
    response = client_for(mgr_a).post(
        reverse("customers:customer_create"), {"kind": "company", "name": "New Leaf Ltd", "city": "Hull"}
    )
    customer = Customer.objects.get(name="New Leaf Ltd")
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    assert customer.manager == mgr_a


def test_a_bad_form_shows_field_errors_and_saves_nothing(mgr_a, client_for):
    response = client_for(mgr_a).post(
        reverse("customers:customer_create"), {"kind": "company", "name": "", "email": "not-an-email"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"name", "email"}
    assert Customer.objects.count() == 0


def test_the_card_shows_who_changed_what(cust_a, mgr_a, client_for):
    client = client_for(mgr_a)
    client.post(
        reverse("customers:customer_update", args=[cust_a.pk]),
        {"kind": "company", "name": "Alpha Works Group", "city": "Hull"},
    )
    response = client.get(cust_a.get_absolute_url())
    history = response.context["history"]
    assert history[0]["record"].history_user == mgr_a
    assert ("name", "Alpha Works", "Alpha Works Group") in history[0]["changes"]
    assert b"Alpha Works Group" in response.content


def test_a_reassignment_is_kept_in_history_with_names(cust_a, mgr_a, mgr_b, dir_1, client_for):
    client_for(dir_1).post(
        reverse("customers:customer_update", args=[cust_a.pk]),
        {"kind": "company", "name": cust_a.name, "manager": mgr_b.pk},
    )
    entry = cust_a.history.first()
    assert entry.history_user == dir_1 and entry.manager_id == mgr_b.pk
    response = client_for(dir_1).get(cust_a.get_absolute_url())
    assert ("manager", "mgr_a", "mgr_b") in response.context["history"][0]["changes"]


def test_the_card_runs_the_same_queries_however_much_hangs_off_the_customer(cust_a, mgr_a, client_for):
    from complaints.models import Complaint
    from customers.models import Contact, Interaction
    from sales_pipeline.models import Deal

    client = client_for(mgr_a)

    def queries_with(count):
        # the card's own rows, and what each app's panel shows (crm_project.hooks.CARD_PANELS)
        for number in range(count):
            cust_a.city = f"City {number}"
            cust_a.save()
            Contact.objects.create(customer=cust_a, name=f"Contact {number}")
            Interaction.objects.create(customer=cust_a, manager=mgr_a, summary=f"Call {number}")
            Deal.objects.create(customer=cust_a, manager=mgr_a, title=f"Deal {number}", sale_type="long_push")
            Complaint.objects.create(customer=cust_a, owner=mgr_a, description=f"Complaint {number}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(cust_a.get_absolute_url()).status_code == 200
        return len(queries)

    # 22 before issue 15's card work (offer next read from the product row, one query for the
    # classes, the complaint counts on the listed rows); with the panels of the pipeline,
    # classes, loyalty, complaints. 16 before the fifth round's follow-up: the user comes with
    # their permissions (crm_project.auth_backend), and this customer has no product status,
    # competitor, loyalty card or answered survey, so those sections cost no query (probes)
    assert queries_with(1) == queries_with(25) == 11


def test_the_search_page_without_htmx_is_a_full_page(cust_a, mgr_a, client_for):
    response = client_for(mgr_a).get(reverse("search"), {"q": "alpha"})
    assert b"<nav" in response.content and cust_a.get_absolute_url().encode() in response.content


def test_the_card_of_a_customer_without_history_rows_opens(mgr_a, client_for):
    # given a customer loaded in bulk, which writes no history
    from customers.models import Customer

    (customer,) = Customer.objects.bulk_create([Customer(name="Bulk Ltd", manager=mgr_a)])
    assert client_for(mgr_a).get(customer.get_absolute_url()).status_code == 200


def test_the_export_buttons_keep_the_filters(mgr_a, client_for):
    html = client_for(mgr_a).get(reverse("customers:customer_list"), {"city": "York"}).content.decode()
    assert 'href="?city=York&amp;_export=csv"' in html


def test_the_unassigned_filter_reads_any_yes_no_and_filters(mgr_a, client_for):
    CustomerFactory(name="Mine Ltd", manager=mgr_a)
    CustomerFactory(name="Pool Ltd", manager=None)
    client = client_for(mgr_a)
    url = reverse("customers:customer_list")
    page = client.get(url).content.decode()
    assert '<option value="" selected>Any</option>' in page and "Unknown" not in page

    def names(**params):
        return sorted(row.record.name for row in client.get(url, params).context["table"].page.object_list)

    assert names(unassigned="true") == ["Pool Ltd"]
    assert names(unassigned="false") == ["Mine Ltd"]
    assert names() == ["Mine Ltd", "Pool Ltd"]


def test_the_card_names_the_referrer_only_when_the_reader_may_see_it(mgr_a, mgr_b, client_for):
    mine = CustomerFactory(name="Mine & Co", manager=mgr_a)
    theirs = CustomerFactory(name="Theirs Ltd", manager=mgr_b)
    by_mine = CustomerFactory(name="Referred One", manager=mgr_a, referred_by=mine)
    by_theirs = CustomerFactory(name="Referred Two", manager=mgr_a, referred_by=theirs)
    client = client_for(mgr_a)
    html = client.get(by_mine.get_absolute_url()).content.decode()
    assert f'id="referred-by"><a href="{mine.get_absolute_url()}">Mine &amp; Co</a></dd>' in html
    html = client.get(by_theirs.get_absolute_url()).content.decode()
    assert 'id="referred-by">a customer of another manager</dd>' in html and "Theirs Ltd" not in html
    assert 'id="referred-by">—</dd>' in client.get(mine.get_absolute_url()).content.decode()


def _card_html(client, customer) -> str:
    """The card's HTML with whitespace normalised and the per-response CSRF tokens blanked."""
    import re

    html = client.get(customer.get_absolute_url()).content.decode()
    html = re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]*"', r'\1""', html)
    return " ".join(html.split())


def test_empty_sections_skip_their_queries_and_draw_the_same_card(cust_a, mgr_a, client_for, monkeypatch):
    """The card reads whether each section has rows with the customer (card_annotations,
    crm_project.hooks.CARD_ANNOTATIONS) and spends no query on an empty one: the page is the
    one drawn with every section queried, for a bare customer and for one with everything."""
    from datetime import date

    from django.db.models import BooleanField, Value

    from complaints.models import Complaint, Questionnaire, Response, Survey
    from customers.models import Competitor, Contact, CustomerCompetitor, CustomerProduct, ProductLine
    from customers.views import customers as views
    from loyalty.models import Card, Program
    from sales_pipeline.models import Deal
    from tests.factories import ProductFactory

    (bare,) = Customer.objects.bulk_create([Customer(name="Bare Ltd", manager=mgr_a)])  # not even history
    product = ProductFactory()
    Contact.objects.create(customer=cust_a, name="Ann Contact", phone="0113")
    CustomerCompetitor.objects.create(
        customer=cust_a, competitor=Competitor.objects.create(name="Rival"), product=product
    )
    CustomerProduct.objects.create(customer=cust_a, product=product, status=CustomerProduct.Status.IN_USE)
    Deal.objects.create(customer=cust_a, manager=mgr_a, title="Open deal", sale_type="long_push")
    Complaint.objects.create(customer=cust_a, owner=mgr_a, description="Late")
    questionnaire = Questionnaire.objects.create(name="Q", product_line=ProductLine.objects.create(name="Line"))
    survey = Survey.objects.create(customer=cust_a, product=product, questionnaire=questionnaire)
    Response.objects.create(survey=survey, customer=cust_a, product=product)
    program = Program.objects.create(name="Points", kind=Program.Kind.POINTS)
    Card.objects.create(number="7700000001", program=program, holder=cust_a, issued_on=date(2024, 1, 1))
    client = client_for(mgr_a)

    def queries(customer):
        with CaptureQueriesContext(connection) as captured:
            client.get(customer.get_absolute_url())
        return len(captured)

    skipping = {customer.pk: (_card_html(client, customer), queries(customer)) for customer in (bare, cust_a)}
    real = views.card_annotations
    monkeypatch.setattr(
        views,
        "card_annotations",
        lambda request: {name: Value(True, output_field=BooleanField()) for name in real(request)},
    )
    for customer in (bare, cust_a):
        html, count = skipping[customer.pk]
        assert html == _card_html(client, customer), customer
        assert "Ann Contact" in html or customer == bare
    assert skipping[cust_a.pk][1] == queries(cust_a)  # a customer with everything: every query
    # the bare customer's: no history, statuses, contacts, competitors, deals, complaints,
    # surveys or loyalty cards queried
    assert queries(bare) - skipping[bare.pk][1] == 8


@pytest.mark.django_db
def test_a_search_of_several_words_finds_what_icontains_finds(mgr_a):
    """customer_search: several words go through NameForWords (the GiST index's
    expression, customers 0015, on PostgreSQL), one word through the plain icontains:
    the same customers either way, the text taken literally (% and _ too)."""
    from django.db import connection
    from django.db.models import Q
    from django.test.utils import CaptureQueriesContext

    from customers.filters import customer_search

    names = ["Bench customer 12", "Bench customer 120", "bench  customer 12", "Acme 50% off_x", "Other"]
    for name in names:
        CustomerFactory(manager=mgr_a, name=name, email="", phone="", city="")
    everyone = Customer.objects.all()
    for text in ("bench customer 12", "BENCH CUSTOMER", "customer 12", "50% off_x", "50% off x", "acme", "zz"):
        expected = set(everyone.filter(Q(name__icontains=text) | Q(external_ref__iexact=text)))
        with CaptureQueriesContext(connection) as queries:
            found = set(customer_search(everyone, text))
        assert found == expected, text
        several = len(text.split()) > 1 and connection.vendor == "postgresql"
        assert ("|| '')" in queries.captured_queries[-1]["sql"]) == several, text
    found = {customer.name for customer in customer_search(everyone, "bench customer 12")}
    assert found == {"Bench customer 12", "Bench customer 120"}
