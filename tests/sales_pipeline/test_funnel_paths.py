"""The funnel read from the deals' journeys (and on PostgreSQL from the funnel's days)
equals a plain reading of the stage changes and deals (domain.md sections 5 and 8), on
random deals with backward moves, skipped and repeated stages, before and after writes
of every kind, for several periods, users and filters; the tables the triggers keep
equal their recomputation; the queries do not grow with the data."""

import importlib
import random
import threading
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import ProductLine
from sales_pipeline import funnel
from sales_pipeline.funnel import funnel_report
from sales_pipeline.models import Deal, DealJourney, DealLine, FunnelDay, RefusalReason, StageChange
from tests.factories import CustomerFactory, ProductFactory

journeys_migration = importlib.import_module("sales_pipeline.migrations.0012_deal_journeys")
days_migration = importlib.import_module("sales_pipeline.migrations.0013_funnel_days")

PERIODS = [
    (date(2026, 3, 1), date(2026, 3, 31)),
    (date(2026, 1, 1), date(2026, 3, 31)),
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(2026, 2, 14), date(2026, 2, 14)),
    (date(2026, 2, 10), date(2026, 2, 20)),
    (date(2026, 4, 20), date(2026, 6, 5)),
    (date(2025, 1, 1), date(2025, 6, 30)),
]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def random_walk(rng: random.Random, deal: Deal, reasons) -> list[StageChange]:
    """A deal's stage changes from a random day of H1 2026: mostly forward one stage,
    sometimes back, skipping, created past Presentation, lost or won; some at midnight."""
    moment = at(date(2026, 1, 1) + timedelta(days=rng.randrange(170)), rng.randrange(24))
    stage = 1 if rng.random() < 0.9 else 2
    changes = [StageChange(deal=deal, from_stage=None, to_stage=stage, changed_at=moment)]
    status, closed_at, reason = Deal.Status.OPEN, None, None
    for _ in range(rng.randrange(12)):
        gap = rng.choice([timedelta(0), timedelta(hours=3), timedelta(days=rng.randrange(1, 25))])
        moment = moment + gap
        if rng.random() < 0.2:  # on a midnight: the period's bounds
            moment = at(timezone.localdate(moment) + timedelta(days=1), 0)
        roll = rng.random()
        days = rng.randrange(30)
        if roll < 0.08:
            changes.append(StageChange(deal=deal, from_stage=stage, to_stage=stage, to_status="lost", changed_at=moment,
                                       days_in_stage=days))  # fmt: skip
            status, closed_at, reason = Deal.Status.LOST, moment, rng.choice([*reasons, None])
            break
        if stage == 6 and roll < 0.6:
            changes.append(StageChange(deal=deal, from_stage=6, to_stage=6, to_status="won", changed_at=moment,
                                       days_in_stage=days))  # fmt: skip
            status, closed_at = Deal.Status.WON, moment
            break
        if roll < 0.2 and stage > 1:
            to = max(1, stage - rng.choice([1, 2]))  # back
        elif roll < 0.27 and stage < 5:
            to = stage + 2  # skipping one
        else:
            to = min(6, stage + 1)
        if to == stage:
            continue
        changes.append(StageChange(deal=deal, from_stage=stage, to_stage=to, changed_at=moment, days_in_stage=days))
        stage = to
    deal.stage, deal.status, deal.closed_at, deal.lost_reason = stage, status, closed_at, reason
    deal.save(update_fields=["stage", "status", "closed_at", "lost_reason"])
    return changes


@pytest.fixture
def world(mgr_a, mgr_b, mgr_c, dir_1, team_1, team_2, admin_user):
    lines = [ProductLine.objects.create(name=name) for name in ("Equipment", "Services")]
    products = [ProductFactory(line=line) for line in lines]
    return {
        "managers": [mgr_a, mgr_b, mgr_c],
        "customers": [CustomerFactory(manager=manager) for manager in (mgr_a, mgr_b, mgr_c, None, mgr_a)],
        "products": products,
        "lines": lines,
        "reasons": list(RefusalReason.objects.all()[:4]),
        "users": [admin_user, dir_1, mgr_a],
        "teams": [team_1, team_2],
    }


def make_deals(world, n: int, seed: int) -> list[Deal]:
    rng = random.Random(seed)
    deals, changes, lines = [], [], []
    for index in range(n):
        deal = Deal.objects.create(
            customer=rng.choice(world["customers"]),
            manager=rng.choice(world["managers"]),
            title=f"Deal {seed}-{index}",
            sale_type=rng.choice(Deal.SaleType.values),
            amount=Decimal(rng.randrange(1, 500000)) / 100,
        )
        if rng.random() < 0.95:  # a few without any change
            changes += random_walk(rng, deal, world["reasons"])
        product = rng.choice(world["products"])
        lines.append(DealLine(deal=deal, product=product, price=deal.amount))
        deals.append(deal)
    # in two statements, as a bulk import writes
    half = len(changes) // 2
    StageChange.objects.bulk_create(changes[:half])
    StageChange.objects.bulk_create(changes[half:])
    DealLine.objects.bulk_create(lines)
    return deals


def reference(user, start, end, *, manager=None, team=None, product_line=None, sale_type=""):
    """The funnel read straight from the deals and their stage changes."""
    begin, stop = funnel._bounds(start, end)
    deals = Deal.objects.visible_to(user)
    if manager is not None:
        deals = deals.filter(manager=manager)
    if team is not None:
        deals = deals.filter(manager__team_membership__team=team)
    if product_line is not None:
        deals = deals.filter(lines__product__line=product_line)
    if sale_type:
        deals = deals.filter(sale_type=sale_type)
    deals = {deal.pk: deal for deal in deals.select_related("lost_reason").distinct()}
    reached: dict[int, set] = defaultdict(set)
    left: dict[int, list] = defaultdict(list)
    for change in StageChange.objects.filter(deal_id__in=deals, changed_at__gte=begin, changed_at__lt=stop):
        if change.to_status == "open" and (change.from_stage is None or change.from_stage < change.to_stage):
            reached[change.deal_id].add(change.to_stage)
        if change.to_status == "won":
            reached[change.deal_id].add(7)
        if change.from_stage is not None:
            left[change.from_stage].append(change.days_in_stage)
    stages = []
    for step in range(1, 8):
        ids = [pk for pk, steps in reached.items() if step in steps]
        amount = sum((deals[pk].amount for pk in ids), Decimal(0)).quantize(Decimal("0.01"))
        converted = sum(1 for pk in ids if step + 1 in reached[pk]) if step < 7 else None
        days = left.get(step, [])
        average = round(sum(days) / len(days), 1) if days and step < 7 else None
        stages.append((len(ids), amount, converted, average, len(days) if step < 7 else None))
    refusals: dict[tuple, list] = {}
    for deal in deals.values():
        if deal.status == "lost" and begin <= deal.closed_at < stop:
            text = deal.lost_reason.text if deal.lost_reason else "(no reason)"
            counted = refusals.setdefault((deal.stage, text), [0, Decimal(0)])
            counted[0] += 1
            counted[1] += deal.amount
    return stages, {key: (n, total.quantize(Decimal("0.01"))) for key, (n, total) in refusals.items()}


def as_compared(report):
    stages = [(row.reached, row.amount, row.converted, row.avg_days, row.left) for row in report.stages]
    stages.append((report.won, report.won_amount, None, None, None))
    return stages, {(row.stage, row.reason): (row.count, row.amount) for row in report.refusals}


def check_everything(world):
    checked = 0
    for user in world["users"]:
        for start, end in PERIODS:
            expected = reference(user, start, end)
            assert as_compared(funnel_report(user=user, start=start, end=end)) == expected, (user, start, end)
            checked += expected[0][0][0]
    mgr_b, mgr_c = world["managers"][1:]
    filters = [
        {"manager": mgr_b},
        {"team": world["teams"][1]},
        {"product_line": world["lines"][0]},
        {"sale_type": "long_pull"},
        {"team": world["teams"][0], "sale_type": "short_push", "product_line": world["lines"][1]},
        {"manager": mgr_c, "team": world["teams"][0]},
    ]
    for narrowed in filters:
        for start, end in PERIODS[:3]:
            user = world["users"][1]
            expected = reference(user, start, end, **narrowed)
            report = funnel_report(user=user, start=start, end=end, **narrowed)
            assert as_compared(report) == expected, (narrowed, start, end)
    assert checked > 50  # the periods are not all empty


def raw_rows(sql: str) -> set:
    # both sides read raw, so that SQLite's real amounts compare alike; its driver reads
    # a table's datetime and bool columns as such, and a query's as text and integers
    def plain(value):
        if isinstance(value, datetime) and connection.vendor == "sqlite":
            return value.isoformat(sep=" ")
        return int(value) if isinstance(value, bool) else value

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {tuple(plain(value) for value in row) for row in cursor.fetchall()}


def journeys_recomputed() -> set:
    return raw_rows(journeys_migration.journeys_select("1 = 1"))


def journeys_kept() -> set:
    return raw_rows(f"SELECT {', '.join(journeys_migration.COLUMNS)} FROM {DealJourney._meta.db_table}")


def days_recomputed() -> set:
    table = DealJourney._meta.db_table
    return raw_rows(days_migration._deltas(f"SELECT 1 AS sign, * FROM {table}", funnel.settings.TIME_ZONE))


def days_kept() -> set:
    columns = ["day", "manager_id", "customer_manager_id", "sale_type", *days_migration.VALUES]
    rows = raw_rows(f"SELECT {', '.join(columns)} FROM {FunnelDay._meta.db_table}")
    return {row for row in rows if any(row[4:])}  # a day whose deals all moved away stays, at zero


def check_kept_tables():
    assert journeys_kept() == journeys_recomputed()
    if connection.vendor == "postgresql":
        assert days_kept() == days_recomputed()


def test_the_funnel_equals_the_changes_read_plainly(world):
    make_deals(world, 160, seed=15)
    assert DealJourney.objects.filter(regular=False).exists()  # both kinds of deal are there
    assert DealJourney.objects.filter(regular=True, entered_3__isnull=False).exists()
    check_kept_tables()
    check_everything(world)


def test_the_funnel_follows_every_kind_of_write(world, mgr_b):
    deals = make_deals(world, 120, seed=7)
    rng = random.Random(8)
    # a customer handed to another manager, and one to nobody
    first, second = world["customers"][:2]
    first.manager = mgr_b
    first.save()
    second.manager = None
    second.save()
    # and several in one statement, to and from the pool
    from customers.models import Customer

    Customer.objects.filter(pk__in=[customer.pk for customer in world["customers"][2:4]]).update(manager=mgr_b)
    Customer.objects.filter(pk=world["customers"][4].pk).update(manager=None)
    Customer.objects.filter(pk=second.pk).update(manager=mgr_b)
    # amounts, managers and sale types changed, one by one and in bulk
    for deal in rng.sample(deals, 15):
        deal.amount += Decimal("123.45")
        deal.manager = mgr_b
        deal.save()
    Deal.objects.filter(pk__in=[deal.pk for deal in rng.sample(deals, 20)]).update(sale_type="short_push")
    # changes moved in time, deleted, added (a backward move)
    moved = rng.sample(list(StageChange.objects.all()), 25)
    for change in moved[:15]:
        change.changed_at += timedelta(days=rng.randrange(-20, 20))
        change.save()
    StageChange.objects.filter(pk__in=[change.pk for change in moved[15:]]).delete()
    for deal in rng.sample(deals, 10):
        StageChange.objects.create(deal=deal, from_stage=deal.stage, to_stage=max(1, deal.stage - 1),
                                   changed_at=at(date(2026, 3, 10), 9), days_in_stage=4)  # fmt: skip
    # a deal lost afterwards, another deleted with its changes
    lost = deals[3]
    lost.status, lost.closed_at, lost.lost_reason = "lost", at(date(2026, 3, 12), 15), world["reasons"][0]
    lost.save()
    gone = deals[4]
    gone.stage_changes.all().delete()
    gone.lines.all().delete()
    gone.delete()
    check_kept_tables()
    check_everything(world)


def test_the_funnel_takes_the_same_queries_at_two_sizes(world):
    user, start, end = world["users"][1], date(2026, 1, 1), date(2026, 6, 30)
    line = world["lines"][0]

    def counted(**narrowed) -> int:
        funnel_report(user=user, start=start, end=end, **narrowed)  # the days' zone is read once per process
        with CaptureQueriesContext(connection) as queries:
            funnel_report(user=user, start=start, end=end, **narrowed)
        return len(queries)

    make_deals(world, 6, seed=1)
    small = (counted(), counted(product_line=line))
    make_deals(world, 90, seed=2)
    assert (counted(), counted(product_line=line)) == small
    # PostgreSQL: the days, the deals spanning the period and the irregular deals in one,
    # the refusals; a product line and SQLite: the journeys, the refusals
    assert small == (2, 2)


def test_every_trigger_is_still_there_after_all_migrations(db):
    # SQLite remakes a table for most AlterFields, and drops its triggers with it.
    sql = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'deal_journey%%'",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'deal_journey%%' OR tgname LIKE 'funnel_day%%'",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {row[0] for row in cursor.fetchall()}
    expected = {
        "deal_journey_change_insert", "deal_journey_change_update", "deal_journey_change_delete",
        "deal_journey_deal_insert", "deal_journey_deal_update", "deal_journey_deal_delete",
        "deal_journey_customer_update",
    }  # fmt: skip
    if connection.vendor == "postgresql":
        expected |= {"deal_journey_change_truncate", "deal_journey_deal_truncate"}
        expected |= {"funnel_day_insert", "funnel_day_update", "funnel_day_delete"}
    assert names == expected


def test_a_stage_reached_twice_in_the_period_counts_once_and_converts(world):
    mgr_a = world["managers"][0]
    deal = Deal.objects.create(customer=world["customers"][0], manager=mgr_a, title="Twice", sale_type="long_push",
                               amount=Decimal("10.00"))  # fmt: skip
    day = date(2026, 3, 2)
    for from_stage, to_stage, hour in [(None, 1, 9), (1, 2, 10), (2, 1, 11), (1, 2, 12), (2, 3, 13)]:
        StageChange.objects.create(deal=deal, from_stage=from_stage, to_stage=to_stage, changed_at=at(day, hour))
    assert not DealJourney.objects.get(deal=deal).regular
    report = funnel_report(user=world["users"][0], start=day, end=day)
    assert [row.reached for row in report.stages[:3]] == [1, 1, 1]
    assert [row.converted for row in report.stages[:2]] == [1, 1]
    assert report.stages[1].left == 2  # left Offer twice, back and forward


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_concurrent_changes_of_one_deal_both_count(mgr_a):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    deal = Deal.objects.create(customer=CustomerFactory(manager=mgr_a), manager=mgr_a, title="Raced",
                               sale_type="long_push", amount=Decimal("10.00"))  # fmt: skip
    day = date(2026, 3, 2)
    StageChange.objects.create(deal=deal, from_stage=None, to_stage=1, changed_at=at(day, 9))
    first_wrote, second_done = threading.Event(), threading.Event()

    def second_writer():
        try:
            first_wrote.wait(10)
            with transaction.atomic():  # waits on the first writer's lock, then reads its change too
                StageChange.objects.create(deal=deal, from_stage=2, to_stage=3, changed_at=at(day, 11))
        finally:
            second_done.set()
            connections.close_all()

    thread = threading.Thread(target=second_writer)
    thread.start()
    # written without the services' lock on the deal, as a raw import could
    with transaction.atomic():
        StageChange.objects.create(deal=deal, from_stage=1, to_stage=2, changed_at=at(day, 10))
        first_wrote.set()
        assert not second_done.wait(0.5), "the second writer should wait for this transaction"
    thread.join(10)
    journey = DealJourney.objects.get(deal=deal)
    assert (journey.entered_2, journey.entered_3) == (at(day, 10), at(day, 11))
    check_kept_tables()


def test_on_postgresql_days_of_another_time_zone_are_not_read(world, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no day table")
    make_deals(world, 60, seed=3)
    late = Deal.objects.create(customer=world["customers"][0], manager=world["managers"][0], title="Late",
                               sale_type="long_push", amount=Decimal("10.00"))  # fmt: skip
    # London's 31 March, Tokyo's 1 April
    StageChange.objects.create(deal=late, from_stage=None, to_stage=1, changed_at=at(date(2026, 3, 31), 20))
    user, start, end = world["users"][0], date(2026, 2, 1), date(2026, 3, 31)
    assert funnel._days_are_current()
    # The days were cut at London's midnights; Tokyo's are nine hours earlier.
    settings.TIME_ZONE = "Asia/Tokyo"
    assert not funnel._days_are_current()
    assert as_compared(funnel_report(user=user, start=start, end=end)) == reference(user, start, end)
