"""Snapshots that do not grow with customers x days (issue 15, item 5): the class intervals
written by the recompute, the retention of full snapshots, and every reader of a past date
getting exactly what the full snapshot said."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from reporting import selectors as reporting_selectors
from segmentation import selectors, services
from segmentation.class_history import class_history_write
from segmentation.models import OPEN_END, ClassInterval, CustomerSnapshot, RecomputeRun
from segmentation.tasks import recompute_segments_task
from tests.factories import CustomerFactory, SettlementLineFactory

FIELDS = ("status", "abc", "xyz", "rfm_segment")
STATUSES = ("potential", "new", "regular", "restored", "lost")


def classes_on(as_of) -> dict[int, tuple]:
    rows = selectors.classes_as_of(as_of).values_list("customer_id", *FIELDS)
    return {customer_id: tuple(rest) for customer_id, *rest in rows}


def snapshot_classes(as_of) -> dict[int, tuple]:
    rows = CustomerSnapshot.objects.filter(as_of=as_of).values_list("customer_id", *FIELDS)
    return {customer_id: tuple(rest) for customer_id, *rest in rows}


def intervals_on(as_of) -> dict[int, tuple]:
    rows = ClassInterval.objects.filter(valid_from__lte=as_of, valid_to__gt=as_of).values_list("customer_id", *FIELDS)
    return {customer_id: tuple(rest) for customer_id, *rest in rows}


def history() -> list[tuple]:
    return list(
        ClassInterval.objects.order_by("customer_id", "valid_from").values_list(
            "customer_id", "valid_from", "valid_to", *FIELDS
        )
    )


def assert_canonical():
    """Intervals of a customer never overlap, and two that touch differ (merged otherwise)."""
    previous = None
    for row in history():
        customer_id, start, end, *classes = row
        assert start < end
        if previous and previous[0] == customer_id:
            assert previous[2] <= start
            assert not (previous[2] == start and previous[3:] == tuple(classes)), (previous, row)
        previous = row


def write(as_of: date, classes: dict[int, tuple]) -> None:
    """What snapshot_replace does, with chosen classes: the date's snapshot rows, then
    the fold into the intervals bounded by the next run's date."""
    CustomerSnapshot.objects.filter(as_of=as_of).delete()
    CustomerSnapshot.objects.bulk_create(
        CustomerSnapshot(as_of=as_of, customer_id=pk, **dict(zip(FIELDS, value, strict=True)))
        for pk, value in classes.items()
    )
    nxt = RecomputeRun.objects.filter(as_of__gt=as_of).order_by("as_of").values_list("as_of", flat=True).first()
    class_history_write(as_of=as_of, next_computed=nxt)
    RecomputeRun.objects.update_or_create(as_of=as_of, defaults={"status": RecomputeRun.Status.DONE})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_intervals_answer_every_date_exactly_whatever_the_order_of_runs_reruns_and_backfills(db, seed):
    rng = random.Random(seed)
    customers = [c.pk for c in CustomerFactory.create_batch(12)]
    dates = [date(2026, 1, 1) + timedelta(days=3 * k) for k in range(14)]
    expected: dict[date, dict[int, tuple]] = {}
    # A few classes only, so that neighbouring dates often agree and intervals merge.
    choices = [("regular", "A", "X", "vip"), ("regular", "B", "Z", "growing"), ("lost", "C", "", "sleeping")]
    for step in range(40):
        as_of = rng.choice(dates)  # forward runs, reruns and backfills, in any order
        present = [pk for pk in customers if rng.random() < 0.9]
        if as_of in expected and rng.random() < 0.3:
            classes = dict(expected[as_of])  # a rerun with the same result
        else:
            classes = {pk: rng.choice(choices) for pk in present}
        write(as_of, classes)
        expected[as_of] = classes
        assert_canonical()
        for day, want in expected.items():
            assert intervals_on(day) == want, (step, day)
    # The history is the same as if the dates had been computed once, oldest first.
    final = history()
    ClassInterval.objects.all().delete()
    RecomputeRun.objects.all().delete()
    for day in sorted(expected):
        write(day, expected[day])
    assert history() == final


def test_a_rerun_with_the_same_result_writes_nothing(db):
    a, b = CustomerFactory.create_batch(2)
    write(date(2026, 3, 1), {a.pk: ("regular", "A", "X", "vip"), b.pk: ("new", "C", "", "newcomer")})
    write(date(2026, 3, 2), {a.pk: ("regular", "A", "X", "vip"), b.pk: ("regular", "C", "Z", "growing")})
    before = list(ClassInterval.objects.order_by("pk").values())
    write(date(2026, 3, 2), {a.pk: ("regular", "A", "X", "vip"), b.pk: ("regular", "C", "Z", "growing")})
    assert list(ClassInterval.objects.order_by("pk").values()) == before
    # a's classes did not change: one open interval; b changed once: two
    assert [(r[0], r[1], r[2]) for r in history()] == [
        (a.pk, date(2026, 3, 1), OPEN_END),
        (b.pk, date(2026, 3, 1), date(2026, 3, 2)),
        (b.pk, date(2026, 3, 2), OPEN_END),
    ]


def test_a_backfill_rewrites_its_date_only(db):
    a = CustomerFactory()
    write(date(2026, 3, 1), {a.pk: ("regular", "A", "X", "vip")})
    write(date(2026, 3, 10), {a.pk: ("regular", "A", "X", "vip")})
    # the backfill of a date between them gives other classes on that date only
    write(date(2026, 3, 5), {a.pk: ("lost", "C", "", "sleeping")})
    assert [classes_on(day)[a.pk][0] for day in (date(2026, 3, 1), date(2026, 3, 5), date(2026, 3, 10))] == [
        "regular", "lost", "regular"
    ]  # fmt: skip
    # a date no run finished has no classes, even inside an interval
    assert classes_on(date(2026, 3, 7)) == {}


#
# Through the real recompute and the retention step
#


@pytest.fixture
def ledger_over_months(db):
    rng = random.Random(7)
    customers = CustomerFactory.create_batch(30)
    start = date(2025, 6, 1)
    for customer in customers[:27]:
        for _ in range(rng.randint(1, 30)):
            SettlementLineFactory(
                customer=customer,
                date=start + timedelta(days=rng.randint(0, 300)),
                amount=Decimal(rng.randint(-500, 90000)) / 100,
            )
    return customers


RUN_DATES = [date(2026, 1, 31), date(2026, 2, 14), date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 15),
             date(2026, 3, 20)]  # fmt: skip
TODAY = date(2026, 4, 15)  # window of 42 days: from 2026-03-04


def test_pruned_dates_read_exactly_what_their_full_snapshot_said(ledger_over_months, client_for, mgr_a):
    for as_of in RUN_DATES:
        services.segments_recompute(as_of=as_of)
    full = {as_of: snapshot_classes(as_of) for as_of in RUN_DATES}
    frames = {as_of: reporting_selectors.snapshot_frame(as_of).sort_values("customer_id") for as_of in RUN_DATES}
    assert all(len(classes) == 30 for classes in full.values())
    unrun = date(2025, 12, 1)  # snapshot rows without a run (never pruned: not in the intervals)
    CustomerSnapshot.objects.create(as_of=unrun, customer=ledger_over_months[0], status="lost")

    deleted = services.snapshots_prune(today=TODAY)

    # month ends (the last computed date of each month) and the window keep their rows
    kept = set(CustomerSnapshot.objects.values_list("as_of", flat=True))
    assert kept == {unrun, date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 15), date(2026, 3, 20)}
    assert deleted == 2 * 30
    assert services.snapshots_prune(today=TODAY) == 0  # idempotent
    for as_of in RUN_DATES:
        assert classes_on(as_of) == full[as_of], as_of
        frame = reporting_selectors.snapshot_frame(as_of).sort_values("customer_id")
        assert frame.reset_index(drop=True).equals(frames[as_of].reset_index(drop=True)), as_of
    assert not selectors.has_figures(selectors.classes_as_of(date(2026, 2, 14)))
    assert selectors.snapshot_dates() == sorted([*RUN_DATES, unrun], reverse=True)
    assert selectors.computed_date_on_or_before(date(2026, 2, 20)) == date(2026, 2, 14)


def test_pages_and_export_of_a_pruned_date_show_its_classes(ledger_over_months, client_for, mgr_a):
    for customer in ledger_over_months:
        customer.manager = mgr_a
        customer.save()
    for as_of in RUN_DATES:
        services.segments_recompute(as_of=as_of)
    pruned = date(2026, 2, 14)
    full = snapshot_classes(pruned)
    statuses = {status: sum(1 for c in full.values() if c[0] == status) for status in STATUSES}
    services.snapshots_prune(today=TODAY)
    client = client_for(mgr_a)

    page = client.get(reverse("segmentation:overview"), {"as_of": pruned.isoformat()})
    assert page.status_code == 200
    assert dict(page.context["status_counts"]) == {s: statuses.get(s, 0) for s in dict(page.context["status_counts"])}
    assert 'id="classes-only"' in page.content.decode()
    cells = sum(cell["customers"] for row in page.context["matrix"] for cell in row["cells"])
    assert cells == sum(1 for c in full.values() if c[1])

    export = client.get(reverse("segmentation:segment_export"), {"as_of": pruned.isoformat(), "format": "csv"})
    lines = export.content.decode().strip().splitlines()
    assert len(lines) == 31
    by_status = [line.split(",")[1] for line in lines[1:]]
    assert {s: by_status.count(s) for s in set(by_status)} == {s: n for s, n in statuses.items() if n}

    changes = client.get(
        reverse("segmentation:class_changes"),
        {"before": pruned.isoformat(), "after": date(2026, 3, 20).isoformat(), "field": "status"},
    )
    later = snapshot_classes(date(2026, 3, 20))
    moved = {pk for pk in later if later[pk][0] != full.get(pk, ("",))[0]}
    assert {row.record.customer_id for row in changes.context["table"].rows} == moved
    # and the other way round: the pruned date as "after" lists its classes from the intervals
    back = client.get(
        reverse("segmentation:class_changes"),
        {"before": date(2026, 3, 20).isoformat(), "after": pruned.isoformat(), "field": "status"},
    )
    assert back.status_code == 200
    assert {row.record.customer_id for row in back.context["table"].rows} == moved


@pytest.mark.parametrize("count", [3, 30])
def test_the_overview_of_a_pruned_date_costs_a_constant_number_of_queries(
    count, mgr_a, client_for, django_assert_max_num_queries
):
    for customer in CustomerFactory.create_batch(count, manager=mgr_a):
        SettlementLineFactory(customer=customer, date=date(2026, 1, 3), amount=Decimal("5"))
    for as_of in (date(2026, 1, 10), date(2026, 1, 20)):
        services.segments_recompute(as_of=as_of)
    services.snapshots_prune(today=TODAY)
    assert not CustomerSnapshot.objects.filter(as_of=date(2026, 1, 10)).exists()
    client = client_for(mgr_a)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("segmentation:overview"), {"as_of": "2026-01-10"})
    assert sum(n for _s, n in response.context["status_counts"]) == count


def test_a_failed_recompute_leaves_the_history_as_it_was(ledger_over_months, monkeypatch):
    services.segments_recompute(as_of=date(2026, 2, 14))
    before, snapshot = history(), snapshot_classes(date(2026, 2, 14))

    def fail(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "class_history_write", fail)
    with pytest.raises(RuntimeError):
        services.segments_recompute(as_of=date(2026, 2, 14))
    assert history() == before and snapshot_classes(date(2026, 2, 14)) == snapshot
    assert RecomputeRun.objects.get(as_of=date(2026, 2, 14)).status == RecomputeRun.Status.FAILED
    monkeypatch.undo()
    services.segments_recompute(as_of=date(2026, 2, 14))  # and a rerun succeeds with the same result
    assert history() == before


def test_the_nightly_task_prunes_after_its_run_and_a_dated_run_does_not(ledger_over_months, monkeypatch):
    monkeypatch.setattr("segmentation.tasks.business_today", lambda: TODAY)
    monkeypatch.setattr("segmentation.services.business_today", lambda: TODAY)
    for as_of in RUN_DATES:
        services.segments_recompute(as_of=as_of)
    recompute_segments_task(as_of=TODAY.isoformat())
    assert CustomerSnapshot.objects.filter(as_of=date(2026, 2, 14)).exists()
    recompute_segments_task()
    assert not CustomerSnapshot.objects.filter(as_of=date(2026, 2, 14)).exists()
    assert classes_on(TODAY) == snapshot_classes(TODAY)


def test_the_migration_backfill_and_the_command(ledger_over_months, capsys):
    for as_of in RUN_DATES[:3]:
        services.segments_recompute(as_of=as_of)
    built = history()
    ClassInterval.objects.all().delete()
    for as_of in RUN_DATES[:3]:  # what migration 0004 does for the dates stored before it
        class_history_write(as_of=as_of, next_computed=None)
    assert history() == built
    call_command("prune_snapshots", "--days", "1")
    assert "Deleted" in capsys.readouterr().out


def _class_changes_reference(*, user, before, after, field):
    """The class changes as selectors.class_changes read them before issue 15: the old value
    by a subquery per row."""
    from django.db.models import F, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    old = selectors.classes_as_of(before).filter(customer=OuterRef("customer")).values(field)[:1]
    rows = (
        selectors.classes_as_of(after)
        .visible_to(user)
        .annotate(previous=Coalesce(Subquery(old), Value("")))
        .exclude(previous=F(field))
    )
    return sorted(rows.values_list("customer_id", "previous", field))


def test_class_changes_join_equals_the_subquery_per_row_for_every_pair_of_dates(mgr_a, mgr_c, dir_1):
    rng = random.Random(15)
    customers = [c.pk for c in CustomerFactory.create_batch(10, manager=mgr_a)]
    customers += [c.pk for c in CustomerFactory.create_batch(6, manager=mgr_c)]
    choices = [("regular", "A", "X", "vip"), ("new", "B", "", "growing"), ("lost", "C", "Z", "sleeping")]
    dates = [date(2026, 1, 5), date(2026, 1, 9), date(2026, 1, 20)]
    for as_of in dates:
        write(as_of, {pk: rng.choice(choices) for pk in customers if rng.random() < 0.85})
    CustomerSnapshot.objects.filter(as_of=dates[0]).delete()  # read from the intervals only, as a pruned date
    unrun = date(2026, 1, 12)  # no run that day: no classes
    found = 0
    for before in [*dates, unrun]:
        for after in dates:
            for field in ("abc", "xyz", "status"):
                for user in (mgr_a, mgr_c, dir_1):
                    got = sorted(
                        selectors.class_changes(user=user, before=before, after=after, field=field).values_list(
                            "customer_id", "previous", field
                        )
                    )
                    assert got == _class_changes_reference(user=user, before=before, after=after, field=field)
                    found += len(got)
    assert found


def test_the_overview_counts_from_one_query_equal_the_four_separate_ones(mgr_a, mgr_c, dir_1):
    from django.db.models import Count

    rng = random.Random(7)
    customers = [c.pk for c in CustomerFactory.create_batch(9, manager=mgr_a)]
    customers += [c.pk for c in CustomerFactory.create_batch(5, manager=mgr_c)]
    choices = [("regular", "A", "X", "vip"), ("new", "B", "", "growing"), ("lost", "", "", "sleeping")]
    day = date(2026, 2, 10)
    write(day, {pk: rng.choice(choices) for pk in customers})
    for snapshot in CustomerSnapshot.objects.filter(as_of=day):
        snapshot.value = Decimal(rng.randint(0, 900)) / 100 if rng.random() < 0.8 else None
        snapshot.r, snapshot.f = (rng.randint(1, 5), rng.randint(1, 5)) if rng.random() < 0.7 else (None, None)
        snapshot.save()
    later = date(2026, 2, 20)
    write(later, {pk: rng.choice(choices) for pk in customers})
    CustomerSnapshot.objects.filter(as_of=later).delete()  # read from the intervals: no figures
    for as_of in (day, later):
        for user in (mgr_a, mgr_c, dir_1):
            rows = selectors.classes_as_of(as_of).visible_to(user)
            segments = dict(rows.values_list("rfm_segment").annotate(n=Count("pk")).order_by())
            separate = (selectors.abc_xyz_matrix, selectors.status_counts, selectors.rfm_matrix)
            reference = (*(count(rows) for count in separate), segments)
            assert selectors.overview_counts(rows) == reference
    assert selectors.overview_counts(selectors.classes_as_of(day))[2]  # the RFM cells were compared too


def test_on_postgresql_a_recompute_leaves_planner_statistics_that_know_its_date(db):
    """The pages read the newest date's snapshot rows the night it is written: planned from
    statistics without that date (one row expected), the class changes page compared each
    of the date's rows with every changed customer's id (3.5 s instead of 77 ms at 50,000
    customers). The recompute analyses the snapshot table it wrote."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    for customer in CustomerFactory.create_batch(20):
        SettlementLineFactory(customer=customer, date=date(2026, 1, 10), amount=Decimal("100"))
    for day in (date(2026, 1, 31), date(2026, 2, 28)):
        services.segments_recompute(as_of=day)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT most_common_vals::text FROM pg_stats WHERE tablename = %s AND attname = 'as_of'",
                [CustomerSnapshot._meta.db_table],
            )
            (known,) = cursor.fetchone()
        assert day.isoformat() in known


def test_on_postgresql_the_write_leaves_fresh_planner_statistics_for_the_intervals(db):
    """The count of class changes that follows the write in the same run joins the intervals
    just written: planned from statistics that do not know them, it went quadratic (184 s
    for 25,751 changes at 40,000 customers). The write analyses the table it wrote."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    customers = [c.pk for c in CustomerFactory.create_batch(30)]
    write(date(2026, 1, 31), {pk: ("regular", "A", "X", "vip") for pk in customers})
    write(date(2026, 2, 28), {pk: ("regular", "B", "Z", "growing") for pk in customers[:20]})
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [ClassInterval._meta.db_table])
        (estimated,) = cursor.fetchone()
    assert estimated == ClassInterval.objects.count() == 30 + 20
