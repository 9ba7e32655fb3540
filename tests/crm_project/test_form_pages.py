"""The pages whose forms pick a customer and a product (register a complaint, survey a
customer, issue a card, open a deal, log a call): the customer comes from the search
above the picker, so the page draws only the chosen one, whatever the user may see (a
director sees 50,000: these pages were 2.6-2.9 MB and 3-5 s at that size); the products are
the active ones, read as values, the same options str() of each gives."""

import re

import pytest
from django.urls import reverse

from loyalty.models import Program
from tests.factories import CustomerFactory, ProductFactory

PICKERS = [  # (url, the customer field, the product field or None)
    ("/complaints/new/", "customer", "product"),
    ("/complaints/surveys/new/", "customer", "product"),
    ("/loyalty/cards/new/", "holder", None),
    ("/deals/new/", "customer", "lines-0-product"),
]


def options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


@pytest.fixture
def catalogue(db):
    Program.objects.create(name="Points", kind=Program.Kind.POINTS)
    sold = [ProductFactory(name="Film", sku="F-1"), ProductFactory(name="Tape", sku="T-1")]
    ProductFactory(name="Retired", sku="R-1", is_active=False)
    return sold


@pytest.mark.parametrize(("url", "customer_field", "product_field"), PICKERS)
def test_the_page_draws_no_customer_until_one_is_chosen(url, customer_field, product_field, catalogue, mgr_a, dir_1,
                                                        client_for):
    for _ in range(3):
        CustomerFactory(manager=mgr_a)
    for user in (mgr_a, dir_1):
        html = client_for(user).get(url).content.decode()
        assert options(html, customer_field) == [("", "—")]
        assert 'hx-get="{}"'.format(reverse("customers:customer_options")) in html  # the search that fills it
        if product_field:
            assert options(html, product_field)[1:] == [(str(p.pk), str(p)) for p in catalogue]


@pytest.mark.parametrize(("url", "customer_field"), [(url, field) for url, field, _product in PICKERS[:3]])
def test_a_preset_customer_is_drawn_only_when_the_user_may_see_it(url, customer_field, catalogue, cust_a, cust_c,
                                                                  mgr_a, client_for):
    client = client_for(mgr_a)
    html = client.get(f"{url}?customer={cust_a.pk}").content.decode()
    assert (str(cust_a.pk), str(cust_a)) in options(html, customer_field)
    html = client.get(f"{url}?customer={cust_c.pk}").content.decode()  # another team's customer
    assert options(html, customer_field) == [("", "—")] and str(cust_c) not in html


def test_a_complaint_is_registered_for_a_customer_found_by_the_search(catalogue, cust_a, mgr_a, client_for):
    client = client_for(mgr_a)
    found = client.get(reverse("customers:customer_options"), {"referrer_q": cust_a.name[:6]}).content.decode()
    assert f'<option value="{cust_a.pk}">' in found
    response = client.post("/complaints/new/", {
        "customer": cust_a.pk, "channel": "phone", "severity": "medium", "product": catalogue[0].pk,
        "description": "The film tore",
    })  # fmt: skip
    assert response.status_code == 302
    complaint = cust_a.complaints.get()
    assert complaint.product == catalogue[0]


def test_a_retired_product_is_refused_as_before(catalogue, cust_a, mgr_a, client_for):
    from customers.models import Product

    retired = Product.objects.get(sku="R-1")
    response = client_for(mgr_a).post("/complaints/surveys/new/", {
        "customer": cust_a.pk, "product": retired.pk, "channel": "call",
    })  # fmt: skip
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
