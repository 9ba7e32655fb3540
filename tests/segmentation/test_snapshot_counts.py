"""The full snapshots counted per date, customer's manager and classes (SnapshotCount)
are kept by database triggers: whoever writes snapshots or reassigns customers, the
counts equal the snapshot rows grouped with their customers' current managers, and the
class overview and the lifecycle page read from them exactly what the live queries over
the user's snapshot rows count."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count

from customers.models import Customer, PlannedContact
from segmentation import selectors, services
from segmentation.models import CustomerSnapshot, SnapshotCount
from tests.factories import CustomerFactory, SettlementLineFactory

D = date(2026, 5, 31)
EARLIER = date(2026, 4, 30)


def counts() -> dict:
    return {
        (c.as_of, c.manager_id, c.status, c.abc, c.xyz, c.rfm_segment, c.r, c.f): (c.customers, c.valued, c.value_units)
        for c in SnapshotCount.objects.all()
    }


def grouped_snapshots() -> dict:
    """The snapshot rows grouped in Python with their customers' managers as now."""
    managers = dict(Customer.objects.values_list("pk", "manager_id"))
    sums: dict = {}
    for s in CustomerSnapshot.objects.filter(customer_id__in=list(managers)):
        key = (s.as_of, managers[s.customer_id] or 0, s.status, s.abc, s.xyz, s.rfm_segment, s.r or 0, s.f or 0)
        n, valued, units = sums.get(key, (0, 0, 0))
        value = 0 if s.value is None else int(Decimal(s.value) * 10_000)
        sums[key] = (n + 1, valued + (s.value is not None), units + value)
    return sums


@pytest.fixture
def base(mgr_a, mgr_b, mgr_c):
    """Customers of three managers and the pool, with purchases of several shapes,
    classified on two dates."""
    customers = []
    for n, manager in enumerate([mgr_a, mgr_a, mgr_a, mgr_b, mgr_b, mgr_c, None, None]):
        customer = CustomerFactory(manager=manager, name=f"Counted {n}")
        for k in range(n % 4 + 1):
            day = D - timedelta(days=20 * k + 3 * n)
            SettlementLineFactory(customer=customer, date=day, amount=Decimal(f"{100 * (n + 1)}.0{k}"))
        customers.append(customer)
    CustomerFactory(manager=mgr_a, name="Prospect")  # potential: no value, no scores
    services.segments_recompute(as_of=EARLIER)
    services.segments_recompute(as_of=D)
    return customers


def test_the_recompute_and_its_rerun_leave_the_counts_equal_to_the_snapshots(base):
    assert counts() == grouped_snapshots()
    assert sum(n for n, _, _ in counts().values()) == CustomerSnapshot.objects.count()
    services.segments_recompute(as_of=D)
    assert counts() == grouped_snapshots()


def test_reassigning_customers_moves_their_counts_on_every_date(base, mgr_b, mgr_c):
    first, *_ = base
    first.manager = mgr_c
    first.save()
    assert counts() == grouped_snapshots()
    Customer.objects.filter(pk__in=[c.pk for c in base[:4]]).update(manager=None)  # to the pool, in one statement
    assert counts() == grouped_snapshots()
    Customer.objects.filter(manager__isnull=True).update(manager=mgr_b)
    assert counts() == grouped_snapshots()
    Customer.objects.filter(pk=first.pk).update(name="Renamed")  # not a reassignment: nothing moves
    assert counts() == grouped_snapshots()


def test_deleting_a_customer_or_a_snapshot_row_or_pruning_a_date_takes_its_counts(base):
    Customer.objects.get(name="Prospect").delete()  # a customer with lines cannot go (the ledger protects it)
    assert counts() == grouped_snapshots()
    CustomerSnapshot.objects.filter(customer=base[1], as_of=D).update(status="lost", abc="C", r=1, value=Decimal("1.5"))
    assert counts() == grouped_snapshots()
    CustomerSnapshot.objects.filter(customer=base[2], as_of=D).delete()
    assert counts() == grouped_snapshots()
    services.snapshots_prune(today=D + timedelta(days=200))  # EARLIER is a month end: kept
    assert counts() == grouped_snapshots()
    CustomerSnapshot.objects.filter(as_of=EARLIER).delete()
    assert {key[0] for key in counts()} == {D}
    assert counts() == grouped_snapshots()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_truncating_the_snapshots_empties_the_counts(mgr_a):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    customer = CustomerFactory(manager=mgr_a)
    CustomerSnapshot.objects.create(as_of=D, customer=customer, status="new")
    assert SnapshotCount.objects.count() == 1
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {CustomerSnapshot._meta.db_table}")
    assert counts() == {}


def test_every_user_reads_from_the_counts_what_the_live_queries_count(base, mgr_a, mgr_b, mgr_c, dir_1, admin_user):
    # given a customer of mgr_c handed over to mgr_b (a colleague away), and one whose
    # contact with mgr_a was handed back (its manager is no longer the hand-over's)
    PlannedContact.objects.create(customer=base[5], manager=mgr_b, handed_over_from=mgr_c, purpose="Cover", due_date=D)
    PlannedContact.objects.create(customer=base[3], manager=mgr_a, handed_over_from=mgr_c, purpose="Stale", due_date=D)
    for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user):
        for as_of in (D, EARLIER):
            live = selectors.overview_counts(selectors.classes_as_of(as_of).visible_to(user))
            assert selectors.overview_counts_of_snapshot(user=user, as_of=as_of) == live, (user, as_of)
        expected = Counter()
        for as_of in (D, EARLIER):
            rows = selectors.classes_as_of(as_of).visible_to(user).values_list("status").annotate(n=Count("pk"))
            for status, n in rows.order_by():
                expected[(as_of, status)] += n
        assert selectors.lifecycle_counts(user=user, dates=[D, EARLIER, D - timedelta(days=1)]) == dict(expected)
    # the handed-over customer is mgr_b's to count, the stale hand-over gives mgr_a nothing
    statuses_b = selectors.overview_counts_of_snapshot(user=mgr_b, as_of=D)[1]
    assert sum(statuses_b.values()) == 2 + 1 + 2  # own, the handed-over one, the pool
    assert sum(selectors.overview_counts_of_snapshot(user=mgr_a, as_of=D)[1].values()) == 4 + 2


def test_a_recompute_failing_after_its_snapshot_write_leaves_the_counts_as_they_were(base, mgr_a, monkeypatch):
    before = counts()
    CustomerFactory(manager=mgr_a, name="Joined later")  # the rerun would count one more customer

    def fail(**kwargs):
        raise RuntimeError("the run failed after writing the snapshot")

    monkeypatch.setattr(services, "class_changes_count", fail)
    with pytest.raises(RuntimeError):
        services.segments_recompute(as_of=D)
    assert counts() == before == grouped_snapshots()
