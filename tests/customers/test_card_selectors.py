"""The card's reads compiled once (customers.selectors.card) give what the ORM's querysets
gave, and the viewer's scope runs on every request."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import CustomerProduct, PortraitEntry, Segment
from customers.selectors import card
from customers.selectors.profiles import customer_product_row
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_the_product_row_is_the_targets_then_the_other_recorded_statuses_in_one_query(mgr_a):
    # given a segment with three target products (one with a status) and a customer with
    # statuses for two products outside it, recorded in the opposite order of their ids
    segment = Segment.objects.create(name="Makers", priority=1)
    products = [ProductFactory(name=name) for name in ("Zeta", "Alpha", "Mid", "Other B", "Other A")]
    for product in products[:3]:
        PortraitEntry.objects.create(segment=segment, product=product)
    customer = CustomerFactory(manager=mgr_a, segment=segment)
    ProductFactory(name="Untouched")  # neither a target nor recorded
    for product, status in [(products[4], "offered"), (products[3], "refused"), (products[2], "in_use")]:
        CustomerProduct.objects.create(
            customer=customer, product=product, status=status, status_date=date(2026, 5, 1), refusal_reason="r"
        )
    # when the row is read
    with CaptureQueriesContext(connection) as queries:
        row = customer_product_row(customer)
        shown = [(cell["product"].name, cell["product"].line, cell["target"], cell["code"]) for cell in row]
        statuses = [cell["status"] for cell in row if cell["status"]]
        assert all(status.customer is customer and status.product is cell["product"] for status, cell in
                   zip(statuses, [cell for cell in row if cell["status"]], strict=True))
    # then one query gives the targets by name, then the others by product, as the ORM read them
    assert len(queries) == 1
    assert shown == [
        ("Alpha", None, True, "not_offered"),
        ("Mid", None, True, "in_use"),
        ("Zeta", None, True, "not_offered"),
        ("Other B", None, False, "refused"),
        ("Other A", None, False, "offered"),
    ]
    recorded = {cp.pk: cp for cp in CustomerProduct.objects.filter(customer=customer)}
    for status in statuses:
        expected = recorded[status.pk]
        assert [getattr(status, f.attname) for f in CustomerProduct._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in CustomerProduct._meta.concrete_fields
        ]
    # a customer without a segment: its recorded statuses only, none a target
    customer.segment = None
    assert [(cell["product"].name, cell["target"]) for cell in customer_product_row(customer)] == [
        ("Mid", False), ("Other B", False), ("Other A", False)
    ]


def test_a_reassigned_customers_card_is_a_404_at_once(cust_a, mgr_a, mgr_c, admin_user, client_for):
    # given the card, opened (its statement compiled for mgr_a's scope)
    from customers.services.profiles import customers_reassign

    client = client_for(mgr_a)
    assert client.get(cust_a.get_absolute_url()).status_code == 200
    # when the customer goes to another manager, then the same statement finds nothing
    customers_reassign(customers=[cust_a], manager=mgr_c, actor=admin_user)
    assert client.get(cust_a.get_absolute_url()).status_code == 404
    assert client_for(mgr_c).get(cust_a.get_absolute_url()).status_code == 200
    assert card.referrer_name(mgr_a, cust_a.pk) is None
