"""crm_project.prepared: a queryset compiled once and run again with new values gives the
rows the queryset gives, converted as the ORM converts them."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import CharField, DateField, F, IntegerField, Value
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from crm_project.prepared import Prepared, id_places, id_slots, id_values
from customers.models import Customer, PlannedContact
from sales_pipeline.models import Deal
from sales_pipeline.models.deals import Stage
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


def test_prepared_tuples_are_the_values_list_rows(mgr_a):
    """Prepared.tuples: a values_list queryset's rows as its tuples, dates converted as the
    ORM converts them (SQLite), without a dict per row."""
    start = date(2026, 3, 1)
    for number in range(3):
        customer = CustomerFactory(manager=mgr_a, name=f"T{number}")
        PlannedContact.objects.create(customer=customer, manager=mgr_a, due_date=start + timedelta(days=number),
                                      purpose=f"P{number}")

    def build(*, owner, since):
        return _contacts(owner=owner, since=since).values_list("pk", "due_date", "customer__name")

    prepared = Prepared(build, owner=IntegerField(), since=DateField())
    for since in (start, start + timedelta(days=2), start + timedelta(days=9)):
        rows = prepared.tuples(owner=mgr_a.pk, since=since)
        assert rows == list(build(owner=mgr_a.pk, since=since))
        assert all(type(row) is tuple and type(row[1]) is date for row in rows)


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

@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_on_postgresql_a_prepared_query_is_planned_once_per_connection_and_typed_as_its_literals(mgr_a):
    # given a statement with a string, an integer choice, a date and a null among its values
    customer = CustomerFactory(manager=mgr_a, name="Ada")
    Deal.objects.create(customer=customer, manager=mgr_a, title="D", sale_type="short_push", stage=2, amount=5)
    prepared = Prepared(
        lambda *, owner, stage, since: (
            Deal.objects.filter(manager_id=owner, stage=stage, created_at__date__gte=since, lost_reason__isnull=True)
            .annotate(tag=Value("deal", output_field=CharField()))
            .values("tag", "title", "stage", "customer__name")
        ),
        owner=IntegerField(),
        stage=IntegerField(),
        since=DateField(),
    )
    with CaptureQueriesContext(connection) as queries:
        # when it runs three times on one connection
        runs = [prepared.rows(owner=mgr_a.pk, stage=Stage(2), since=date(2020, 1, 1)) for _ in range(3)]
    # then it gives the rows with their types, as the queryset does
    assert runs == [[{"tag": "deal", "title": "D", "stage": 2, "customer__name": "Ada"}]] * 3
    assert prepared.rows(owner=mgr_a.pk, stage=3, since=date(2020, 1, 1)) == []
    # and PostgreSQL parsed it once: the first run prepares it, the later ones name it
    sql = [query["sql"] for query in queries]
    assert sql[0].startswith("PREPARE crm_") and all(text.startswith("EXECUTE crm_") for text in sql[1:])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'crm\\_%%'")
        assert cursor.fetchone()[0] >= 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_on_postgresql_only_the_slots_are_parameters_and_the_shapes_constants_are_literals(mgr_a):
    """The values that are not Slots (a status, a search with % in it, a date) are written
    into the server's statement as the driver writes them, so that its generic plan can
    match a partial index on them; the statement gives the queryset's rows."""
    customer = CustomerFactory(manager=mgr_a, name="50% off, O'Brien")
    CustomerFactory(manager=mgr_a, name="Other")
    Deal.objects.create(customer=customer, manager=mgr_a, title="D", sale_type="short_push", stage=2, amount=5)

    def deals(*, owner):
        return (
            Deal.objects.filter(manager_id=owner, status="open", customer__name__icontains="50% off, o'b")
            .filter(created_at__date__gte=date(2020, 1, 1))
            .values("title", "customer__name")
        )

    prepared = Prepared(deals, owner=IntegerField())
    # when it runs twice (prepared, then executed by name)
    runs = [prepared.rows(owner=mgr_a.pk) for _ in range(2)]
    # then its rows are the queryset's
    assert runs == [list(deals(owner=mgr_a.pk))] * 2 == [[{"title": "D", "customer__name": "50% off, O'Brien"}]] * 2
    # and the server's statement takes the owner alone, the other values written in it
    with connection.cursor() as cursor:
        cursor.execute("SELECT parameter_types::text[], statement FROM pg_prepared_statements")
        [(types, statement)] = [row for row in cursor.fetchall() if "50\\% off" in row[1]]
    assert types == ["integer"]
    assert "'open'" in statement and "'2020-01-01'::date" in statement and "'%50\\% off, o''b%'" in statement
    assert "$1" in statement and "$2" not in statement


@pytest.mark.django_db
def test_behind_a_transaction_pooler_the_statements_are_not_prepared_on_the_server(mgr_a, settings):
    settings.DATABASE_SERVER_PREPARED = False
    CustomerFactory(manager=mgr_a, name="Ada")
    prepared = Prepared(lambda *, owner: Customer.objects.filter(manager_id=owner).values("name"), owner=IntegerField())
    with CaptureQueriesContext(connection) as queries:
        runs = [prepared.rows(owner=mgr_a.pk) for _ in range(2)]
    assert runs == [[{"name": "Ada"}]] * 2
    assert not any(query["sql"].startswith(("PREPARE", "EXECUTE")) for query in queries)


def test_a_shape_that_can_match_nothing_gives_no_rows_without_a_query():
    # a scope that lets the user see nothing compiles to no SQL at all (EmptyResultSet)
    CustomerFactory()
    prepared = Prepared(lambda wanted: Customer.objects.filter(pk__in=wanted).values("pk"))
    with CaptureQueriesContext(connection) as queries:
        assert prepared.rows(()) == [] and prepared.tuples(()) == []
    assert len(queries) == 0
    model = Prepared(lambda wanted: Customer.objects.filter(pk__in=wanted))
    assert model.objects(()) == []
    assert [row["pk"] for row in prepared.rows((Customer.objects.get().pk,))] == [Customer.objects.get().pk]
