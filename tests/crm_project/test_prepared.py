"""crm_project.prepared: a queryset compiled once and run again with new values gives the
rows the queryset gives, converted as the ORM converts them."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import DateField, F, IntegerField
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler

from crm_project.prepared import Prepared, id_places, id_slots, id_values
from customers.models import PlannedContact
from sales_pipeline.models import Deal
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _contacts(*, owner, since):
    return (
        PlannedContact.objects.filter(manager_id=owner, due_date__gte=since)
        .order_by("due_date", "pk")
        .values("pk", "due_date", "purpose", "customer__name")
    )


def test_a_prepared_query_gives_the_querysets_rows_and_compiles_once(mgr_a, mgr_b, monkeypatch):
    # given planned contacts of two managers over a few days
    start = date(2026, 3, 1)
    for number, manager in itertools.product(range(4), [mgr_a, mgr_b]):
        customer = CustomerFactory(manager=manager, name=f"C{number} {manager.username}")
        PlannedContact.objects.create(
            customer=customer, manager=manager, due_date=start + timedelta(days=number), purpose=f"P{number}"
        )
    prepared = Prepared(_contacts, owner=IntegerField(), since=DateField())
    compiled = []
    as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or as_sql(self, *a, **k))
    # when it runs for each manager and day
    for manager, offset in itertools.product([mgr_a, mgr_b], range(5)):
        since = start + timedelta(days=offset)
        # then the rows are the queryset's, dates as dates
        assert prepared.rows(owner=manager.pk, since=since) == list(_contacts(owner=manager.pk, since=since))
    ran = len(compiled)
    prepared.rows(owner=mgr_a.pk, since=start)
    assert len(compiled) == ran  # no compilation once compiled


def test_a_list_of_ids_takes_a_power_of_two_places_and_finds_the_same_rows(mgr_a):
    customers = [CustomerFactory(manager=mgr_a) for _ in range(5)]
    for customer in customers:
        Deal.objects.create(customer=customer, manager=mgr_a, title="D", sale_type="short_push", stage=1, amount=12.5)
    assert [id_places(range(n)) for n in [1, 2, 3, 4, 5, 8, 9]] == [1, 2, 4, 4, 8, 8, 16]
    assert id_values("c", [7, 9, 11], 4) == {"c0": 7, "c1": 9, "c2": 11, "c3": 11}
    prepared = Prepared(
        lambda places: (
            Deal.objects.filter(In(F("customer_id"), id_slots("c", places)))
            .order_by("pk")
            .values("customer_id", "amount")
        )
    )
    for chosen in ([customers[0]], customers[1:4], customers):
        ids = [customer.pk for customer in chosen]
        places = id_places(ids)
        rows = prepared.rows(places, **id_values("c", ids, places))
        assert rows == list(Deal.objects.filter(customer_id__in=ids).order_by("pk").values("customer_id", "amount"))
        assert all(row["amount"] == Decimal("12.50") for row in rows)


def _open_contacts(*, owner):
    return (
        PlannedContact.objects.filter(manager_id=owner)
        .select_related("customer", "customer__manager", "product")
        .annotate(customer_city=F("customer__city"))
        .order_by("due_date", "pk")
    )


def test_prepared_objects_are_the_querysets_instances_with_their_joins_and_annotations(
    mgr_a, mgr_b, monkeypatch, django_assert_num_queries
):
    # given planned contacts of two managers, one with a product
    from tests.factories import ProductFactory

    product = ProductFactory()
    for number, manager in itertools.product(range(3), [mgr_a, mgr_b]):
        customer = CustomerFactory(manager=manager, name=f"C{number} {manager.username}", city=f"Town {number}")
        PlannedContact.objects.create(
            customer=customer, manager=manager, due_date=date(2026, 3, 1 + number), purpose=f"P{number}",
            product=product if number == 1 else None,
        )
    prepared = Prepared(_open_contacts, owner=IntegerField())
    prepared.objects(owner=mgr_a.pk)  # compiled
    compiled = []
    as_sql = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or as_sql(self, *a, **k))
    for manager in (mgr_a, mgr_b):
        expected = list(_open_contacts(owner=manager.pk))
        compiled.clear()
        # when it runs: one query, no compilation, and the joined rows need none either
        with django_assert_num_queries(1):
            got = prepared.objects(owner=manager.pk)
            seen = [(pc.customer.name, pc.customer.manager.username, pc.product and pc.product.name) for pc in got]
        assert compiled == []
        # then the instances are the queryset's, field by field, joins and annotation too
        assert [type(pc) for pc in got] == [PlannedContact] * 3
        assert [(pc.pk, pc.due_date, pc.purpose, pc.customer_city) for pc in got] == [
            (pc.pk, pc.due_date, pc.purpose, pc.customer_city) for pc in expected
        ]
        assert seen == [
            (pc.customer.name, pc.customer.manager.username, pc.product and pc.product.name) for pc in expected
        ]
        assert all(pc._state.db == "default" and not pc._state.adding for pc in got)
    with pytest.raises(TypeError):
        Prepared(lambda: PlannedContact.objects.values("pk")).objects()
