"""The loyalty card totals (CardTotal, kept by database triggers, migration 0007) equal the
cards counted and their points summed live, whatever writes the cards or reassigns their
holders; liability and tier_distribution read them within the user's scope and give what
the live queries over visible_cards give."""

import random
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum

from customers.models import Customer, PlannedContact
from customers.services.profiles import customers_reassign
from loyalty import selectors, services
from loyalty.models import Card, CardTotal, Program
from tests.factories import CustomerFactory, SettlementLineFactory
from tests.trigger_totals import in_thread, triggers_named

from .helpers import D0, points_program, tiered_program

TRIGGERS = {"card_total_insert", "card_total_update", "card_total_delete", "card_total_reassign"}


def live_totals() -> dict:
    """CardTotal recomputed from the cards: {(holder's manager, 0 pool, -1 bearer; program,
    tier or 0, status): (cards, points)}."""
    rows = Card.objects.order_by().values_list("holder_id", "holder__manager_id", "program_id", "tier_id", "status")
    totals: dict = {}
    for holder, manager, program, tier, status, n, points in rows.annotate(n=Count("pk"), p=Sum("balance")):
        key = (-1 if holder is None else manager or 0, program, tier or 0, status)
        cards, total = totals.get(key, (0, 0))
        totals[key] = (cards + n, total + points)
    return totals


def stored_totals() -> dict:
    rows = CardTotal.objects.values_list("holder_manager", "program_id", "tier", "status", "cards", "points")
    return {(m, program, tier, status): (n, points) for m, program, tier, status, n, points in rows}


def live_liability(user) -> tuple[int, Decimal]:
    money = DecimalField(max_digits=20, decimal_places=4)
    value = ExpressionWrapper(F("balance") * F("program__point_value"), output_field=money)
    cards = Card.objects.visible_to(user).filter(program__kind=Program.Kind.POINTS)
    sums = cards.aggregate(p=Sum("balance"), v=Sum(value))
    return sums["p"] or 0, Decimal(sums["v"] or 0).quantize(Decimal("0.01"))


def live_tiers(user) -> list[dict]:
    rows = (
        Card.objects.visible_to(user)
        .filter(status=Card.Status.ACTIVE, program__kind=Program.Kind.TIERED)
        .values(program_name=F("program__name"), tier_name=F("tier__name"), rank=F("tier__rank"))
        .annotate(cards=Count("pk"))
        .order_by("program_name", "rank")
    )
    return list(rows)


def _triggers(table: str) -> set[str]:
    return triggers_named(table, "card_total")


def test_every_trigger_is_in_place_after_all_migrations(db):
    # A later migration that remakes the card or customer table (SQLite does for most AlterFields) drops them.
    names = _triggers(Card._meta.db_table) | _triggers(Customer._meta.db_table)
    truncate = {"card_total_truncate"} if connection.vendor == "postgresql" else set()
    assert names == TRIGGERS | truncate


def _bearer_program() -> Program:
    return Program.objects.create(name="Bearer", kind=Program.Kind.BEARER, discount_percent=Decimal("2"))


def test_the_stored_totals_equal_the_live_ones_after_random_writes(mgr_a, mgr_b, mgr_c, dir_1):
    rng = random.Random(15)
    managers = [mgr_a, mgr_b, mgr_c]
    customers = [CustomerFactory(manager=rng.choice([*managers, None])) for _ in range(8)]
    points, tiered, bearer = points_program(expiry_days=100), tiered_program(), _bearer_program()
    tiers = list(tiered.tiers.all())
    cards = [services.card_issue(program=points, holder=customer, issued_on=D0) for customer in customers]
    cards += [services.card_issue(program=tiered, holder=rng.choice(customers), issued_on=D0) for _ in range(4)]
    cards.append(services.card_issue(program=bearer, issued_on=D0))
    # points earned through the ledger's services
    for customer in customers:
        SettlementLineFactory(customer=customer, date=D0 + timedelta(days=1), amount=Decimal(rng.randint(100, 9000)))
    services.points_accrue()
    assert stored_totals() == live_totals() != {}
    assert sum(points for _n, points in stored_totals().values()) > 0
    kinds = ["issue", "bulk", "redeem", "adjust", "expire", "status", "tier", "holder", "reassign", "delete"]
    done = set()
    for step in range(120):
        kind = rng.choice(kinds)
        card = rng.choice(cards)
        card.refresh_from_db()
        if kind == "issue":
            if rng.random() < 0.2:
                cards.append(services.card_issue(program=bearer, issued_on=D0))
            else:
                cards.append(services.card_issue(program=points, holder=rng.choice(customers), issued_on=D0))
        elif kind == "bulk":
            new = [
                Card(number=f"bulk-{step}-{i}", program=tiered, holder=rng.choice([*customers, None]),
                     tier=rng.choice([*tiers, None]), issued_on=D0)
                for i in range(3)
            ]
            cards += Card.objects.bulk_create(new)
        elif kind == "redeem" and card.balance > 0:
            services.points_redeem(card=card, points=rng.randint(1, card.balance), today=D0 + timedelta(days=2))
        elif kind == "adjust":
            services.points_adjust(card=card, points=rng.randint(1, 50), reason="Goodwill", today=D0)
        elif kind == "expire":
            services.points_expire(today=D0 + timedelta(days=rng.randint(50, 200)))
        elif kind == "status":
            services.card_status_set(card=card, status=rng.choice(list(Card.Status.values)))
        elif kind == "tier":
            Card.objects.filter(program=tiered).filter(pk__in=[c.pk for c in rng.sample(cards, 4)]).update(
                tier=rng.choice([*tiers, None])
            )
        elif kind == "holder" and card.holder_id:
            card.holder = rng.choice(customers)
            card.save()  # every column written, most unchanged
        elif kind == "reassign":
            moved = rng.sample(customers, rng.randint(1, 3))
            if rng.random() < 0.5:  # the service or a bare bulk update
                customers_reassign(customers=moved, manager=rng.choice([*managers, None]), actor=dir_1)
            else:
                Customer.objects.filter(pk__in=[c.pk for c in moved]).update(manager=rng.choice([*managers, None]))
        elif kind == "delete":
            Card.objects.filter(pk=card.pk).delete()
            cards.remove(card)
        done.add(kind)
        assert stored_totals() == live_totals(), f"step {step}: {kind}"
    assert done == set(kinds)
    # a bulk delete of everything leaves no row behind
    Card.objects.all().delete()
    assert CardTotal.objects.count() == 0


@pytest.fixture
def scene(mgr_a, mgr_b, mgr_c):
    """Cards of A's, B's, C's, a pool customer's and a bearer card, in a points and a
    tiered program; one of C's customers handed over to B (a colleague away)."""
    points, tiered, bearer = points_program(point_value=Decimal("0.35")), tiered_program(), _bearer_program()
    silver, gold = tiered.tiers.order_by("rank")[:2]
    holders = {
        "a": CustomerFactory(manager=mgr_a),
        "b": CustomerFactory(manager=mgr_b),
        "c": CustomerFactory(manager=mgr_c),
        "covered": CustomerFactory(manager=mgr_c),
        "pool": CustomerFactory(manager=None),
    }
    for i, (name, holder) in enumerate(holders.items()):
        card = services.card_issue(program=points, holder=holder, issued_on=D0)
        services.points_adjust(card=card, points=10 * (i + 1) + 3, reason="Opening", today=D0)
        Card.objects.create(number=f"t-{name}", program=tiered, holder=holder, tier=gold if i % 2 else silver,
                            issued_on=D0)
    Card.objects.create(number="t-none", program=tiered, holder=holders["covered"], issued_on=D0)
    Card.objects.create(number="t-blocked", program=tiered, holder=holders["a"], tier=gold, issued_on=D0,
                        status=Card.Status.BLOCKED)
    Card.objects.create(number="bearer", program=bearer, issued_on=D0)
    PlannedContact.objects.create(customer=holders["covered"], manager=mgr_b, handed_over_from=mgr_c,
                                  purpose="Cover", due_date=D0)
    return points, holders


def test_each_user_reads_what_the_live_queries_over_their_cards_give(scene, mgr_a, mgr_b, mgr_c, dir_1, admin_user):
    points, holders = scene
    for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user):
        liability = selectors.liability(user=user, today=D0)
        assert (liability.points, liability.value) == live_liability(user), user.username
        assert selectors.tier_distribution(user=user) == live_tiers(user), user.username
    # B: own 23 points, the handed-over 43 and the pool's 53; 0.35 each
    liability = selectors.liability(user=mgr_b, today=D0)
    assert (liability.points, liability.value) == (119, Decimal("41.65"))
    assert [(row["tier_name"], row["cards"]) for row in selectors.tier_distribution(user=mgr_b)] == [
        ("Silver", 1), ("Gold", 2), (None, 1)
    ] if connection.vendor == "postgresql" else [(None, 1), ("Silver", 1), ("Gold", 2)]
    # the point's value is applied when read
    Program.objects.filter(pk=points.pk).update(point_value=Decimal("1.10"))
    assert selectors.liability(user=mgr_b, today=D0).value == Decimal("130.90")
    # the hand-over ends when the customer is reassigned: its cards move to the new manager's rows
    customers_reassign(customers=[holders["covered"]], manager=mgr_a, actor=dir_1)
    for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user):
        liability = selectors.liability(user=user, today=D0)
        assert (liability.points, liability.value) == live_liability(user), user.username
        assert selectors.tier_distribution(user=user) == live_tiers(user), user.username
    assert stored_totals() == live_totals()


def test_liability_and_tiers_are_read_from_the_stored_totals(scene, admin_user, mgr_a):
    # a tampered row shows: the figures read the table, not the cards
    CardTotal.objects.filter(holder_manager=mgr_a.pk, program__kind=Program.Kind.POINTS).update(points=1000)
    tiered = CardTotal.objects.filter(holder_manager=mgr_a.pk, program__kind=Program.Kind.TIERED)
    tiered.filter(status="active").update(cards=9)
    assert selectors.liability(user=mgr_a, today=D0).points == 1000 + 53  # and the pool's
    assert sum(row["cards"] for row in selectors.tier_distribution(user=mgr_a)) == 9 + 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_totals_from_the_cards_there_and_goes_back(mgr_a, mgr_b, mgr_c):
    points_program_ = points_program()
    for manager in (mgr_a, mgr_b, None):
        card = services.card_issue(program=points_program_, holder=CustomerFactory(manager=manager), issued_on=D0)
        services.points_adjust(card=card, points=17, reason="Opening", today=D0)
    services.card_issue(program=_bearer_program(), issued_on=D0)
    try:
        call_command("migrate", "loyalty", "0006", verbosity=0)
        assert "loyalty_cardtotal" not in connection.introspection.table_names()
        assert not _triggers(Card._meta.db_table)
    finally:
        call_command("migrate", "loyalty", verbosity=0)
    assert stored_totals() == live_totals() != {}
    assert len(stored_totals()) == 4


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_truncating_the_cards_empties_the_totals(mgr_a, cust_a):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    services.card_issue(program=points_program(), holder=cust_a, issued_on=date(2026, 1, 1))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Card._meta.db_table} CASCADE")
    assert CardTotal.objects.count() == 0




@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["card", "reassignment"])
def test_on_postgresql_a_card_written_while_its_holder_is_reassigned_counts_once(first, mgr_a, mgr_b):
    # Without the card trigger's lock on the holder, the points land under the old manager
    # while the reassignment moves only the cards it saw.
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    holder = CustomerFactory(manager=mgr_a)
    program = points_program()
    card = services.card_issue(program=program, holder=holder, issued_on=D0)

    def write_card():
        Card.objects.filter(pk=card.pk).update(balance=F("balance") + 7)

    def reassign():
        Customer.objects.filter(pk=holder.pk).update(manager=mgr_b)

    mine, theirs = (write_card, reassign) if first == "card" else (reassign, write_card)
    wrote, other_done = threading.Event(), threading.Event()
    thread = in_thread(theirs, wrote, other_done)
    with transaction.atomic():
        mine()
        wrote.set()
        assert not other_done.wait(0.5), "the other writer should wait for this transaction"
    thread.join(10)
    assert stored_totals() == live_totals() == {(mgr_b.pk, program.pk, 0, "active"): (1, 7)}
