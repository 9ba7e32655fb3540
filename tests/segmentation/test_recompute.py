"""The recompute against a real database: SQL aggregate, snapshot, guard, failure."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection

from segmentation import selectors, services
from segmentation.classification import ClassificationParams, aggregate_lines
from segmentation.models import CustomerSnapshot, RecomputeRun
from segmentation.tasks import recompute_segments_task
from tests.elsewhere import held_elsewhere
from tests.factories import CustomerFactory, SettlementLineFactory

D = date(2026, 5, 31)


def ledger(customer, *entries):
    """entries: (days before D, amount[, cost])"""
    for days, amount, *cost in entries:
        SettlementLineFactory(
            customer=customer,
            date=D - timedelta(days=days),
            amount=Decimal(amount),
            cost=Decimal(cost[0]) if cost else None,
        )


@pytest.fixture
def random_ledger(db):
    rng = random.Random(5)
    customers = CustomerFactory.create_batch(40)
    for customer in customers[:35]:
        for _ in range(rng.randint(1, 25)):
            amount = Decimal(rng.randint(-2000, 90000)) / 100
            cost = Decimal(rng.randint(0, 50000)) / 100 if rng.random() < 0.5 else None
            ledger(
                customer, (rng.randint(-30, 800), amount, cost) if cost is not None else (rng.randint(-30, 800), amount)
            )
    return customers


@pytest.mark.parametrize(
    "params", [ClassificationParams(), ClassificationParams(xyz_bucket_months=3, abc_basis="margin")]
)
def test_the_sql_aggregate_equals_the_pandas_reference(random_ledger, params):
    from sales_pipeline.models import SettlementLine

    # given the raw lines as the pandas reference reads them
    raw = pd.DataFrame.from_records(SettlementLine.objects.values("customer_id", "date", "amount", "cost"))
    raw["amount_cents"] = (raw["amount"] * 10000).map(int)
    raw["cost_cents"] = raw["cost"].map(lambda c: 0 if c is None or pd.isna(c) else int(c * 10000))
    expected = aggregate_lines(raw, as_of=D, params=params).set_index("customer_id").sort_index()
    # when the database computes it
    actual = selectors.ledger_aggregates(as_of=D, params=params).set_index("customer_id").sort_index()
    # then every column agrees exactly
    for column in expected.columns:
        left = pd.to_datetime(expected[column]) if "date" in column else expected[column]
        right = pd.to_datetime(actual[column]) if "date" in column else actual[column]
        assert left.tolist() == right.tolist(), column


def test_a_recompute_stores_one_snapshot_row_per_customer(db):
    regular, lost, newcomer = CustomerFactory.create_batch(3)
    potential = CustomerFactory()
    ledger(regular, (200, "100"), (120, "100"), (10, "100"))
    ledger(lost, (200, "50"))
    ledger(newcomer, (5, "10"))
    run = services.segments_recompute(as_of=D)
    assert run.status == RecomputeRun.Status.DONE and run.customers == 4 and run.lines == 5
    statuses = dict(CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "status"))
    assert statuses == {regular.pk: "regular", lost.pk: "lost", newcomer.pk: "new", potential.pk: "potential"}
    top = CustomerSnapshot.objects.get(as_of=D, customer=regular)
    assert (top.abc, top.value, top.monetary, top.frequency) == ("A", Decimal("300"), Decimal("300"), 3)


def test_customers_created_after_the_date_are_not_in_its_snapshot(db):
    later = CustomerFactory()
    later.created_at = later.created_at.replace(year=2030)
    later.save()
    services.segments_recompute(as_of=D)
    assert not CustomerSnapshot.objects.filter(customer=later).exists()


def test_running_twice_for_the_same_date_changes_nothing(random_ledger):
    services.segments_recompute(as_of=D)
    first = sorted(
        CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "status", "abc", "xyz", "value", "r")
    )
    run = services.segments_recompute(as_of=D)
    again = sorted(
        CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "status", "abc", "xyz", "value", "r")
    )
    assert first == again
    assert RecomputeRun.objects.filter(as_of=D).count() == 1 and run.status == "done"


def test_a_failure_while_saving_keeps_the_previous_snapshot(random_ledger, monkeypatch):
    services.segments_recompute(as_of=D)
    before = sorted(CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "abc", "status"))
    ledger(random_ledger[-1], (3, "99999"))  # would change classes

    def insert_half_then_die(frame):
        original_insert(frame.iloc[: len(frame) // 2])
        raise RuntimeError("worker died")

    original_insert = services._insert_snapshots
    monkeypatch.setattr(services, "_insert_snapshots", insert_half_then_die)
    with pytest.raises(RuntimeError):
        services.segments_recompute(as_of=D)
    assert sorted(CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "abc", "status")) == before
    run = RecomputeRun.objects.get(as_of=D)
    assert run.status == "failed" and "worker died" in run.error
    # and simply running again works
    monkeypatch.setattr(services, "_insert_snapshots", original_insert)
    assert services.segments_recompute(as_of=D).status == "done"
    assert CustomerSnapshot.objects.filter(as_of=D).count() == len(random_ledger)


def test_a_run_left_running_by_a_killed_worker_is_marked_failed_by_the_next(db):
    # given a run whose worker was killed (its lock died with it), and a finished one
    killed = RecomputeRun.objects.create(as_of=D - timedelta(days=1), status=RecomputeRun.Status.RUNNING, step="2/3")
    done = RecomputeRun.objects.create(as_of=D - timedelta(days=2), status=RecomputeRun.Status.DONE)
    # when the next run takes the lock
    assert services.segments_recompute(as_of=D).status == "done"
    # then the killed one says what happened, and the finished one is untouched
    killed.refresh_from_db()
    assert killed.status == "failed" and "worker ended" in killed.error and killed.finished_at is not None
    done.refresh_from_db()
    assert (done.status, done.error) == ("done", "")


def test_a_second_run_while_one_holds_the_lock_is_skipped(db):
    with services.exclusive(services.LOCK_NAME):
        with pytest.raises(services.LockHeld):
            services.segments_recompute(as_of=D)
        assert recompute_segments_task(as_of=D.isoformat()) == f"skipped: lock held ({D})"
    assert not RecomputeRun.objects.filter(as_of=D, status="done").exists()
    assert recompute_segments_task(as_of=D.isoformat()).endswith(f"as of {D}")


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_lock_is_held_across_connections():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    with held_elsewhere(lambda: services.exclusive(services.LOCK_NAME)):
        with pytest.raises(services.LockHeld):
            services.segments_recompute(as_of=D)
    assert services.segments_recompute(as_of=D).status == "done"


def test_class_changes_are_counted_against_the_previous_snapshot(db):
    a, b = CustomerFactory.create_batch(2)
    ledger(a, (40, "100"))
    ledger(b, (40, "10"))
    services.segments_recompute(as_of=D - timedelta(days=30))
    ledger(b, (10, "1000"))
    run = services.segments_recompute(as_of=D)
    # b (10 of 110, so C) overtakes a (100 of 110, so A): they swap classes
    changed = set(
        selectors.class_changes(user=_admin(), before=D - timedelta(days=30), after=D, field="abc").values_list(
            "customer_id", "previous", "abc"
        )
    )
    assert changed == {(a.pk, "A", "C"), (b.pk, "C", "A")}
    assert run.class_changes == 2


def _admin():
    from tests.factories import UserFactory

    return UserFactory(username="seg-admin", is_superuser=True, is_staff=True)


def test_export_segments_writes_the_promised_columns(tmp_path, db):
    customer = CustomerFactory(external_ref="C1")
    CustomerFactory(external_ref="C2")  # potential
    ledger(customer, (200, "100.50"), (100, "100.50"), (20, "-0.5"))
    out = tmp_path / "segments.csv"
    call_command("export_segments", str(out), as_of=D)
    lines = out.read_text().splitlines()
    assert lines[0] == "customer,status,abc,xyz,revenue,cov,recency,frequency,monetary,r,f,m,rfm_segment"
    assert lines[1].startswith("C1,regular,A,") and ",200.50," in lines[1]
    assert lines[2] == "C2,potential,,,,,,,,,,,"


def test_recompute_command_reports_what_it_did(db, capsys):
    ledger(CustomerFactory(), (1, "5"))
    call_command("recompute_segments", as_of=D)
    assert "Classified 1 customers as of 2026-05-31 from 1 ledger lines" in capsys.readouterr().out


def test_the_admin_settings_drive_the_next_recompute(db):
    from segmentation.models import ClassificationSettings

    # given margin as the ABC basis: a big seller with no margin ranks below a small profitable one
    settings = ClassificationSettings.current()
    settings.abc_basis = "margin"
    settings.save()
    big, profitable = CustomerFactory.create_batch(2)
    ledger(big, (10, "1000", "1000"))
    ledger(profitable, (10, "100", "10"))
    services.segments_recompute(as_of=D)
    classes = dict(CustomerSnapshot.objects.filter(as_of=D).values_list("customer_id", "abc"))
    assert classes == {profitable.pk: "A", big.pk: ""}


def test_settings_refuse_thresholds_out_of_order(db):
    from django.core.exceptions import ValidationError

    from segmentation.models import ClassificationSettings

    settings = ClassificationSettings.current()
    settings.abc_a, settings.abc_b = Decimal("0.9"), Decimal("0.8")
    with pytest.raises(ValidationError):
        settings.full_clean()


def test_with_abc_on_margin_the_run_counts_the_window_lines_without_cost(db, client_for, admin_user):
    # Issue 11, item 7: 2 of the 3 window lines have no cost; the one before the window does not count.
    from django.urls import reverse

    from segmentation.models import ClassificationSettings

    customer = CustomerFactory()
    ledger(customer, (3, "100", "60"), (40, "50"), (300, "20"), (400, "70"))
    assert services.segments_recompute(as_of=D).lines_without_cost is None  # revenue basis: cost unused
    ClassificationSettings.objects.filter(pk=1).update(abc_basis="margin")
    run = services.segments_recompute(as_of=D)
    assert run.lines_without_cost == 2
    page = client_for(admin_user).get(reverse("segmentation:overview")).content.decode()
    assert "ABC is on margin, but 2 lines of the window have no cost" in page
