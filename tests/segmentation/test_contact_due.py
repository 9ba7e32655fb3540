"""Issue 15: ContactDue, the rows the control point "contact interval exceeded" reads (the
current class and the last contact per classed customer), filled by the nightly recompute
and kept by the database's triggers. Through every write path, the kept rows must equal
what the snapshot, the interactions and the creation times say, and the list read from
them must equal the list computed from the snapshot itself."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, Interaction
from customers.services.agenda import interaction_log
from customers.services.profiles import customers_reassign
from segmentation.contact_due import contact_due_fill
from segmentation.contact_interval import contact_interval_overdue
from segmentation.models import ClassificationSettings, ContactDue, CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory

AS_OF = date(2026, 6, 30)
LAST_CALL = date(2026, 9, 1)
TODAY = LAST_CALL + timedelta(days=61)  # A (30) and B (60) due, C (90) not


def _at(day, hour=10):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _classed(manager, abc, *, called=LAST_CALL, as_of=AS_OF):
    customer = CustomerFactory(manager=manager)
    RecomputeRun.objects.get_or_create(as_of=as_of, defaults={"status": RecomputeRun.Status.DONE})
    CustomerSnapshot.objects.create(as_of=as_of, customer=customer, status="regular", abc=abc)
    if called:
        Interaction.objects.create(customer=customer, manager=manager, summary="Call", occurred_at=_at(called, 23))
    return customer


def _kept() -> dict:
    return {row.customer_id: (row.abc, row.since) for row in ContactDue.objects.all()}


def _expected(as_of) -> dict:
    """Each classed customer of the snapshot of `as_of`: (class, last interaction or creation)."""
    last = Customer.objects.annotate(last=Coalesce(Max("interactions__occurred_at"), "created_at"))
    since = dict(last.values_list("pk", "last"))
    rows = CustomerSnapshot.objects.filter(as_of=as_of).exclude(abc="").values_list("customer_id", "abc")
    return {customer_id: (abc, since[customer_id]) for customer_id, abc in rows}


def _listed(user, today=TODAY, **kwargs) -> list:
    return [
        (p.customer_id, p.abc, p.due, p.last_contact)
        for p in contact_interval_overdue(user=user, today=today, **kwargs)
    ]


def _from_snapshot(user, today=TODAY, **kwargs) -> list:
    """The same list computed from the snapshot itself (the run not marked as filled)."""
    marked = list(RecomputeRun.objects.filter(contact_due_filled=True).values_list("pk", flat=True))
    RecomputeRun.objects.filter(pk__in=marked).update(contact_due_filled=False)
    try:
        return _listed(user, today, **kwargs)
    finally:
        RecomputeRun.objects.filter(pk__in=marked).update(contact_due_filled=True)


def _check(user, as_of=AS_OF, **kwargs) -> list:
    assert _kept() == _expected(as_of)
    listed = _listed(user, **kwargs)
    assert listed == _from_snapshot(user, **kwargs)
    return [row[0] for row in listed]


@pytest.fixture
def base(mgr_a):
    customers = {abc: _classed(mgr_a, abc) for abc in "ABC"}
    customers["none"] = _classed(mgr_a, "")  # no class: never a row
    contact_due_fill(as_of=AS_OF)
    return customers


def test_the_fill_takes_the_classed_customers_of_the_snapshot_and_marks_its_run(base, mgr_a):
    assert set(_kept()) == {base["A"].pk, base["B"].pk, base["C"].pk}
    assert list(RecomputeRun.objects.filter(contact_due_filled=True).values_list("as_of", flat=True)) == [AS_OF]
    assert _check(mgr_a) == [base["A"].pk, base["B"].pk]


def test_an_interaction_logged_imported_moved_or_deleted_keeps_the_row(base, mgr_a):
    a, b, c = base["A"], base["B"], base["C"]
    # logged through the quick entry's service: A is no longer due
    interaction_log(
        customer=a, manager=mgr_a, kind="call", summary="Called", occurred_at=_at(TODAY - timedelta(days=2))
    )
    assert _check(mgr_a) == [b.pk]
    # imported in bulk: an older one changes nothing, a newer one clears B
    Interaction.objects.bulk_create(
        [
            Interaction(customer=b, manager=mgr_a, summary="old", occurred_at=_at(LAST_CALL - timedelta(days=9))),
            Interaction(customer=b, manager=mgr_a, summary="new", occurred_at=_at(TODAY - timedelta(days=1))),
        ]
    )
    assert _check(mgr_a) == []
    # moved back in time: B is due again from its previous call
    Interaction.objects.filter(customer=b, summary="new").update(occurred_at=_at(LAST_CALL - timedelta(days=30)))
    assert _check(mgr_a) == [b.pk]
    # deleted: A falls back to its older call
    Interaction.objects.filter(customer=a, summary="Called").delete()
    assert _check(mgr_a) == [a.pk, b.pk]
    # every interaction of C deleted: it counts from its creation
    Interaction.objects.filter(customer=c).delete()
    Customer.objects.filter(pk=c.pk).update(created_at=_at(LAST_CALL - timedelta(days=100)))
    assert _check(mgr_a) == [c.pk, a.pk, b.pk]  # C: 90 days from its creation, 100 days before the call
    # an interaction moved to another customer: both rows follow
    moved = Interaction.objects.filter(customer=b).order_by("-occurred_at").first()
    moved.customer, moved.occurred_at = c, _at(TODAY)
    moved.save()
    assert _check(mgr_a) == [a.pk, b.pk]


def test_a_creation_time_changed_moves_the_row_only_without_interactions(base, mgr_a):
    a = base["A"]
    Customer.objects.filter(pk=a.pk).update(created_at=_at(TODAY))  # its interaction still counts
    assert _check(mgr_a) == [a.pk, base["B"].pk]
    Interaction.objects.filter(customer=a).delete()
    assert _check(mgr_a) == [base["B"].pk]  # created today
    Customer.objects.filter(pk=a.pk).update(created_at=_at(LAST_CALL - timedelta(days=1)))
    assert _check(mgr_a) == [a.pk, base["B"].pk]


def test_a_reassigned_customer_moves_to_the_new_managers_list(base, mgr_a, mgr_b, dir_1):
    a = base["A"]
    customers_reassign(customers=[a], manager=mgr_b, actor=dir_1)
    assert _check(mgr_a) == [base["B"].pk]
    assert _check(mgr_b) == [a.pk]
    assert _check(dir_1, manager=mgr_b) == [a.pk]
    customers_reassign(customers=[a], manager=None, actor=dir_1)  # the pool is never due
    assert _check(dir_1) == [base["B"].pk]


def test_the_nightly_recompute_refills_the_rows_with_its_classes(base, mgr_a):
    later = AS_OF + timedelta(days=1)
    # the next night's classes: A became C, C became A
    classes = {base["A"].pk: "C", base["B"].pk: "B", base["C"].pk: "A", base["none"].pk: ""}
    RecomputeRun.objects.create(as_of=later, status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.bulk_create(
        CustomerSnapshot(as_of=later, customer_id=pk, status="regular", abc=abc) for pk, abc in classes.items()
    )
    # before the fill the list is computed from the new snapshot, not from the stale rows
    assert [row[0] for row in _listed(mgr_a)] == [base["C"].pk, base["B"].pk]
    contact_due_fill(as_of=later)
    assert list(RecomputeRun.objects.filter(contact_due_filled=True).values_list("as_of", flat=True)) == [later]
    assert _check(mgr_a, as_of=later) == [base["C"].pk, base["B"].pk]


def test_segments_recompute_fills_the_rows_when_its_date_is_the_current_one(mgr_a, monkeypatch):
    from segmentation import services

    customer = CustomerFactory(manager=mgr_a)
    old = RecomputeRun.objects.create(as_of=AS_OF, status=RecomputeRun.Status.DONE, contact_due_filled=True)
    services.segments_recompute(as_of=AS_OF - timedelta(days=30))  # a past date: the current rows stay
    assert RecomputeRun.objects.get(pk=old.pk).contact_due_filled
    services.segments_recompute(as_of=AS_OF + timedelta(days=1))  # the new current classes
    assert list(RecomputeRun.objects.filter(contact_due_filled=True).values_list("as_of", flat=True)) == [
        AS_OF + timedelta(days=1)
    ]
    assert _kept() == _expected(AS_OF + timedelta(days=1))
    assert customer.pk not in _kept()  # potential: no class, no row


def test_interval_settings_edited_in_admin_apply_at_once(base, mgr_a, admin_user, client):
    ClassificationSettings.current()
    ClassificationSettings.objects.filter(pk=1).update(contact_days_a=None, contact_days_c=40)
    assert _check(mgr_a) == [base["C"].pk, base["B"].pk]
    client.force_login(admin_user)
    form = {
        field.name: getattr(ClassificationSettings.current(), field.name)
        for field in ClassificationSettings._meta.fields
        if field.editable and field.name != "id"
    }
    form.update(contact_days_a=70, contact_days_b="", contact_days_c="")
    response = client.post("/admin/segmentation/classificationsettings/1/change/", form)
    assert response.status_code == 302, response.content[:2000]
    assert _check(mgr_a) == []  # A: 61 days < 70; B and C not checked
    assert _check(mgr_a, today=TODAY + timedelta(days=10)) == [base["A"].pk]


def test_a_future_dated_run_or_an_unfilled_current_run_reads_the_snapshot(base, mgr_a):
    # a run dated after today is not current, the filled one still is
    RecomputeRun.objects.create(as_of=TODAY + timedelta(days=5), status=RecomputeRun.Status.DONE)
    assert _check(mgr_a) == [base["A"].pk, base["B"].pk]
    # once that day has come, its classes decide (none here), though the rows hold AS_OF's
    assert _listed(mgr_a, today=TODAY + timedelta(days=5)) == []


def test_the_fill_command(mgr_a):
    customer = _classed(mgr_a, "A")
    call_command("fill_contact_due")
    assert _kept() == _expected(AS_OF) and customer.pk in _kept()


def test_a_deleted_customer_takes_its_row(base, mgr_a):
    base["A"].delete()
    assert _check(mgr_a) == [base["B"].pk]


@pytest.mark.parametrize("count", [2, 30])
def test_the_kept_rows_take_the_same_queries_whatever_the_number_of_customers(count, mgr_a):
    for _ in range(count):
        _classed(mgr_a, "A")
    contact_due_fill(as_of=AS_OF)
    ClassificationSettings.current()
    user = type(mgr_a).objects.get(pk=mgr_a.pk)
    with CaptureQueriesContext(connection) as queries:
        assert len(contact_interval_overdue(user=user, today=LAST_CALL + timedelta(days=31))) == count
    assert len(queries) == 2 + 1  # the current run with the settings (issue 15), the rows; the user's permissions


def test_an_interaction_deleted_after_its_customer_leaves_the_row_alone(base):
    """A flush (the test runner's, `manage.py flush`) deletes table after table, customers
    before interactions: the last interaction's delete trigger must not write a missing
    customer's creation time (NULL) into the row (SQLite: segmentation 0008)."""
    customer = base["A"]
    kept = _kept()[customer.pk]
    with transaction.atomic(), connection.cursor() as cursor:  # undone: the other rows keep their keys
        cursor.execute("DELETE FROM customers_customer WHERE id = %s", [customer.pk])
        cursor.execute("DELETE FROM customers_interaction WHERE customer_id = %s", [customer.pk])
        after = _kept()[customer.pk]
        transaction.set_rollback(True)
    assert after == kept
