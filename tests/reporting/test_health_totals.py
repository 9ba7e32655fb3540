"""Process health's stored totals (DealCheckTotal, CustomerCheckTotal, InteractionDayTotal,
kept by database triggers, reporting migration 0004) equal the records counted live,
whatever writes deals, customers, interactions or planned contacts; and every role reads
from them exactly the page's live counts, also where the first local day of the 90 does
not start at a UTC midnight."""

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Interaction, PlannedContact, Segment
from customers.services.profiles import customers_reassign
from reporting import health
from reporting.models import CustomerCheckTotal, DealCheckTotal, InteractionDayTotal
from sales_pipeline.models import Deal, RefusalReason
from tests.factories import CustomerFactory, make_manager
from tests.trigger_totals import in_thread, triggers_named

TABLES = {
    Deal._meta.db_table: {"health_deal_insert", "health_deal_update", "health_deal_delete"},
    Customer._meta.db_table: {
        "health_deal_reassign",
        "health_customer_insert",
        "health_customer_update",
        "health_customer_delete",
    },
    Interaction._meta.db_table: {"health_interaction_insert", "health_interaction_update", "health_interaction_delete"},
    PlannedContact._meta.db_table: {"health_plan_insert", "health_plan_update", "health_plan_delete"},
}
TRUNCATED = {Deal._meta.db_table, Customer._meta.db_table, Interaction._meta.db_table}


def _triggers(table: str) -> set[str]:
    return triggers_named(table, "health_")


def test_every_trigger_is_in_place_after_all_migrations(db):
    # A later migration that remakes one of these tables (SQLite does for most AlterFields) drops them.
    for table, names in TABLES.items():
        if connection.vendor == "postgresql" and table in TRUNCATED:
            names = names | {f"health_{table.split('_')[-1]}_truncate"}
        assert _triggers(table) == names, table


def live_tables() -> dict:
    """The three stored tables recomputed from the records, in stored_tables' shape."""
    deals = Counter()
    for d in Deal.objects.select_related("customer"):
        key = ("deal", d.manager_id, d.customer.manager_id or 0)
        lost, offered, won = d.status == "lost", d.offer_sent is not None, d.status == "won"
        deals[key + ("deals",)] += 1
        deals[key + ("lost",)] += lost
        deals[key + ("lost_with_reason",)] += lost and d.lost_reason_id is not None
        deals[key + ("offered",)] += offered
        deals[key + ("offered_with_expiry",)] += offered and d.offer_expires is not None
        deals[key + ("won",)] += won
        deals[key + ("won_with_survey",)] += won and d.survey_sent is not None
    for c in Customer.objects.all():
        deals[("customer", c.manager_id or 0, "customers")] += 1
        deals[("customer", c.manager_id or 0, "with_segment")] += c.segment_id is not None
    planned = set(PlannedContact.objects.exclude(planned_in=None).values_list("planned_in_id", flat=True))
    for i in Interaction.objects.all():
        key = ("day", i.manager_id, i.occurred_at.astimezone(UTC).date())
        deals[key + ("interactions",)] += 1
        deals[key + ("planned",)] += i.pk in planned
    return {key: n for key, n in deals.items() if n}


def stored_tables() -> dict:
    rows = Counter()
    for t in DealCheckTotal.objects.all():
        for column in ("deals", "lost", "lost_with_reason", "offered", "offered_with_expiry", "won", "won_with_survey"):
            rows[("deal", t.manager_id, t.customer_manager_id, column)] = getattr(t, column)
    for t in CustomerCheckTotal.objects.all():
        rows[("customer", t.manager, "customers")] = t.customers
        rows[("customer", t.manager, "with_segment")] = t.with_segment
    for t in InteractionDayTotal.objects.all():
        rows[("day", t.manager_id, t.day, "interactions")] = t.interactions
        rows[("day", t.manager_id, t.day, "planned")] = t.planned
    return {key: n for key, n in rows.items() if n}


def _no_empty_rows():
    assert not DealCheckTotal.objects.filter(deals=0).exists()
    assert not CustomerCheckTotal.objects.filter(customers=0).exists()
    assert not InteractionDayTotal.objects.filter(interactions=0).exists()


def _first_instant():
    return health._start_of(health._since())


def test_the_stored_totals_equal_the_live_ones_after_random_writes(mgr_a, mgr_b, mgr_c, dir_1, admin_user):
    rng = random.Random(26)
    managers = [mgr_a, mgr_b, mgr_c]
    segment = Segment.objects.create(name="Target", priority=1)
    reason = RefusalReason.objects.create(stage=1, text="Too dear")
    customers = [CustomerFactory(manager=rng.choice([*managers, None])) for _ in range(8)]
    start = _first_instant()

    def moment():
        return start + timedelta(hours=rng.randint(-30, 30), minutes=rng.choice([0, 1, 59]))

    def new_deal():
        fields = rng.choice([
            {"status": "lost", "lost_reason": reason}, {"status": "lost"}, {"status": "won"},
            {"status": "won", "survey_sent": start.date()}, {"offer_sent": start.date()},
            {"offer_sent": start.date(), "offer_expires": start.date()}, {},
        ])  # fmt: skip
        return Deal.objects.create(customer=rng.choice(customers), manager=rng.choice(managers), title="Random",
                                   sale_type="long_push", amount=Decimal("1"), **fields)  # fmt: skip

    def new_interaction():
        customer = rng.choice(customers)
        return Interaction.objects.create(customer=customer, manager=rng.choice(managers), summary="Call",
                                          occurred_at=moment())  # fmt: skip

    def plan(interaction):
        return PlannedContact.objects.create(customer=interaction.customer, manager=interaction.manager,
                                             purpose="Next", due_date=start.date(), planned_in=interaction)  # fmt: skip

    deals = [new_deal() for _ in range(10)]
    interactions = [new_interaction() for _ in range(10)]
    for interaction in interactions[:4]:
        plan(interaction)
    assert stored_tables() == live_tables() != {}
    kinds = [
        "deal", "deal bulk", "deal status", "deal fields", "deal save", "deal manager", "deal customer", "deal delete",
        "customer", "customer bulk", "segment", "reassign", "customer delete",
        "interaction", "interaction bulk", "interaction moved", "interaction manager", "interaction delete",
        "plan", "plan bulk", "plan moved", "plan unset", "plan delete", "plans delete", "plan status",
    ]  # fmt: skip
    done = set()
    for step in range(200):
        kind = rng.choice(kinds)
        deal, interaction = rng.choice(deals), rng.choice(interactions)
        if kind == "deal":
            deals.append(new_deal())
        elif kind == "deal bulk":
            deals += Deal.objects.bulk_create(
                Deal(title="Bulk", customer=rng.choice(customers), manager=rng.choice(managers), sale_type="long_pull",
                     status=rng.choice(["open", "won", "lost"]), offer_sent=rng.choice([None, start.date()]))
                for _ in range(3)
            )  # fmt: skip
        elif kind == "deal status":
            Deal.objects.filter(pk__in=[d.pk for d in rng.sample(deals, 3)]).update(
                status=rng.choice(["open", "won", "lost"])
            )
        elif kind == "deal fields":
            field = rng.choice(["lost_reason", "offer_sent", "offer_expires", "survey_sent"])
            value = reason if field == "lost_reason" else start.date()
            Deal.objects.filter(pk=deal.pk).update(**{field: rng.choice([None, value])})
        elif kind == "deal save":
            deal.refresh_from_db()
            deal.title = "Renamed"
            deal.save()  # every column written, none counted changed
        elif kind == "deal manager":
            Deal.objects.filter(pk=deal.pk).update(manager=rng.choice(managers))
        elif kind == "deal customer":
            Deal.objects.filter(pk=deal.pk).update(customer=rng.choice(customers))
        elif kind == "deal delete":
            Deal.objects.filter(pk=deal.pk).delete()
            deals.remove(deal)
        elif kind == "customer":
            owner = rng.choice([*managers, None])
            customers.append(CustomerFactory(manager=owner, segment=rng.choice([None, segment])))
        elif kind == "customer bulk":
            customers += Customer.objects.bulk_create(
                Customer(name=f"Bulk {step} {k}", manager=rng.choice([*managers, None])) for k in range(3)
            )
        elif kind == "segment":
            Customer.objects.filter(pk__in=[c.pk for c in rng.sample(customers, 3)]).update(
                segment=rng.choice([None, segment])
            )
        elif kind == "reassign":
            moved = rng.sample(customers, rng.randint(1, 3))
            if rng.random() < 0.5:  # the service (history, deals follow) or a bare bulk update
                customers_reassign(customers=moved, manager=rng.choice([*managers, None]), actor=dir_1)
            else:
                Customer.objects.filter(pk__in=[c.pk for c in moved]).update(manager=rng.choice([*managers, None]))
        elif kind == "customer delete":
            # one without deals (they protect it), with its interactions and planned contacts
            spare = [c for c in customers if not Deal.objects.filter(customer=c).exists()]
            if spare:
                gone = rng.choice(spare)
                customers.remove(gone)
                interactions = [i for i in interactions if i.customer_id != gone.pk]
                gone.delete()
        elif kind == "interaction":
            interactions.append(new_interaction())
        elif kind == "interaction bulk":
            interactions += Interaction.objects.bulk_create(
                Interaction(customer=rng.choice(customers), manager=rng.choice(managers), summary="Bulk",
                            occurred_at=moment())
                for _ in range(3)
            )  # fmt: skip
        elif kind == "interaction moved":
            Interaction.objects.filter(pk__in=[i.pk for i in rng.sample(interactions, 2)]).update(occurred_at=moment())
        elif kind == "interaction manager":
            Interaction.objects.filter(pk=interaction.pk).update(manager=rng.choice(managers))
        elif kind == "interaction delete":
            Interaction.objects.filter(pk=interaction.pk).delete()  # its planned contacts' planned_in set NULL
            interactions.remove(interaction)
        elif kind == "plan":
            plan(interaction)
        elif kind == "plan bulk":  # two in one interaction in one statement
            PlannedContact.objects.bulk_create(
                PlannedContact(customer=interaction.customer, manager=interaction.manager, purpose="Bulk",
                               due_date=start.date(), planned_in=interaction)
                for _ in range(2)
            )  # fmt: skip
        elif kind == "plan moved":
            PlannedContact.objects.filter(pk__in=PlannedContact.objects.order_by("?").values("pk")[:2]).update(
                planned_in=interaction
            )
        elif kind == "plan unset":
            PlannedContact.objects.filter(pk__in=PlannedContact.objects.order_by("?").values("pk")[:2]).update(
                planned_in=None
            )
        elif kind == "plan delete":
            contact = PlannedContact.objects.order_by("?").first()
            if contact:
                contact.delete()
        elif kind == "plans delete":
            PlannedContact.objects.filter(planned_in=interaction).delete()
        elif kind == "plan status":
            PlannedContact.objects.filter(planned_in__isnull=False).update(status=rng.choice(["done", "planned"]))
        done.add(kind)
        assert stored_tables() == live_tables(), f"step {step}: {kind}"
        if step % 25 == 0:
            for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user):
                assert health.stored_counts(user) == health.live_counts(user), (step, kind, user.username)
    assert done == set(kinds)
    _no_empty_rows()
    # and deleting everything leaves no row behind
    PlannedContact.objects.all().delete()
    Interaction.objects.all().delete()
    Deal.objects.all().delete()
    Customer.objects.all().delete()
    assert stored_tables() == {}
    assert not (DealCheckTotal.objects.exists() or CustomerCheckTotal.objects.exists()
                or InteractionDayTotal.objects.exists())  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/London", "Europe/Moscow", "America/New_York", "Asia/Kolkata"])
def test_every_role_reads_the_live_counts_around_the_first_local_day(zone, mgr_a, mgr_b, mgr_c, dir_1, admin_user,
                                                                     settings):  # fmt: skip
    """The 90 days start at a local midnight: at 23:00 or 00:00, 21:00, 04:00 or 05:00,
    18:30 UTC. The interactions of every quarter hour around it count exactly as live."""
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        start = _first_instant()
        covering = make_manager("mgr_covering", None)
        handed = CustomerFactory(manager=mgr_b, segment=Segment.objects.create(name="Target", priority=1))
        # B's customer handed over to A (A sees it, counted one by one), and the pool
        PlannedContact.objects.create(customer=handed, manager=mgr_a, purpose="Cover", due_date=start.date(),
                                      handed_over_from=mgr_b)  # fmt: skip
        CustomerFactory(manager=None)
        customers = [CustomerFactory(manager=m) for m in (mgr_a, mgr_b, mgr_c, dir_1, covering)]
        for k in range(-26 * 4, 26 * 4):
            customer = customers[k % len(customers)]
            interaction = Interaction.objects.create(customer=customer, manager=customer.manager, summary="Call",
                                                     occurred_at=start + timedelta(minutes=15 * k))  # fmt: skip
            if k % 3 == 0:
                PlannedContact.objects.create(customer=customer, manager=customer.manager, purpose="Next",
                                              due_date=start.date(), planned_in=interaction)  # fmt: skip
        for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user, covering):
            assert health.stored_counts(user) == health.live_counts(user), user.username
        # its own, the pool's and the handed-over one, which has the segment
        assert health.stored_counts(mgr_a)["customers_with_segment"] == (1, 3)


def test_the_page_reads_the_stored_totals(mgr_a, client_for):
    CustomerFactory(manager=mgr_a)
    # a tampered row shows: the page reads the table, not the customers
    CustomerCheckTotal.objects.filter(manager=mgr_a.pk).update(customers=4, with_segment=3)
    checks = {c.key: c for c in client_for(mgr_a).get(reverse("reporting:health")).context["checks"]}
    assert (checks["customers_with_segment"].good, checks["customers_with_segment"].total) == (3, 4)


@pytest.mark.django_db
def test_a_user_without_a_role_or_inactive_reads_nothing(mgr_a):
    CustomerFactory(manager=mgr_a)
    nobody = make_manager("nobody", None)
    nobody.groups.clear()
    mgr_a.is_active = False
    mgr_a.save(update_fields=["is_active"])
    for user in (nobody, mgr_a):
        user = type(user).objects.get(pk=user.pk)
        assert health.stored_counts(user) == health.live_counts(user)
        assert all(total == 0 for _good, total in health.stored_counts(user).values())


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_truncating_the_tables_empties_the_totals(mgr_a):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    customer = CustomerFactory(manager=mgr_a)
    Deal.objects.create(customer=customer, manager=mgr_a, title="x", sale_type="long_push")
    Interaction.objects.create(customer=customer, manager=mgr_a, summary="Call")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Deal._meta.db_table}, {Interaction._meta.db_table} CASCADE")
        assert not DealCheckTotal.objects.exists() and not InteractionDayTotal.objects.exists()
        cursor.execute(f"TRUNCATE {Customer._meta.db_table} CASCADE")
    assert not CustomerCheckTotal.objects.exists()




def _race(mine, theirs):
    """`mine` in a transaction that waits half a second before committing, `theirs` in
    another started once `mine` wrote: it must wait for this one's commit."""
    wrote, other_done = threading.Event(), threading.Event()
    thread = in_thread(theirs, wrote, other_done)
    with transaction.atomic():
        mine()
        wrote.set()
        assert not other_done.wait(0.5), "the other writer should wait for this transaction"
    thread.join(10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["deal", "reassignment"])
def test_on_postgresql_a_deal_written_while_its_customer_is_reassigned_counts_once(first, mgr_a, mgr_b):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    customer = CustomerFactory(manager=mgr_a)
    Deal.objects.create(customer=customer, manager=mgr_a, title="old", sale_type="long_push", status="won")

    def write_deal():
        Deal.objects.create(customer=customer, manager=mgr_a, title="new", sale_type="long_push", status="lost")

    def reassign():
        Customer.objects.filter(pk=customer.pk).update(manager=mgr_b)

    _race(*((write_deal, reassign) if first == "deal" else (reassign, write_deal)))
    assert stored_tables() == live_tables()
    assert DealCheckTotal.objects.get().customer_manager_id == mgr_b.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second", ["plan", "move"])
def test_on_postgresql_two_contacts_planned_in_one_interaction_at_once_count_it_once(second, mgr_a):
    # Without the lock on the interaction each writer sees only its own contact and
    # counts the interaction as newly planned: twice. ("move": the interaction's day
    # changes meanwhile.)
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    customer = CustomerFactory(manager=mgr_a)
    interaction = Interaction.objects.create(customer=customer, manager=mgr_a, summary="Call")

    def plan():
        PlannedContact.objects.create(customer=customer, manager=mgr_a, purpose="Next", due_date=timezone.localdate(),
                                      planned_in=interaction)  # fmt: skip

    def move():
        Interaction.objects.filter(pk=interaction.pk).update(occurred_at=interaction.occurred_at - timedelta(days=3))

    _race(plan, plan if second == "plan" else move)
    assert stored_tables() == live_tables()
    assert InteractionDayTotal.objects.get().planned == 1
    # and both leaving in two transactions at once makes it unplanned once
    contacts = list(PlannedContact.objects.filter(planned_in=interaction))

    def unplan(contact):
        return lambda: PlannedContact.objects.filter(pk=contact.pk).update(planned_in=None)

    if len(contacts) == 2:
        _race(unplan(contacts[0]), unplan(contacts[1]))
        assert stored_tables() == live_tables()
        assert InteractionDayTotal.objects.get().planned == 0


def test_the_day_is_the_utc_day_whatever_the_zone(mgr_a, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    with timezone.override("Asia/Tokyo"):
        moment = timezone.make_aware(datetime(2026, 3, 2, 3, 0))  # 1 March, 18:00 UTC
        Interaction.objects.create(customer=CustomerFactory(manager=mgr_a), manager=mgr_a, summary="x",
                                   occurred_at=moment)  # fmt: skip
    assert InteractionDayTotal.objects.get().day == datetime(2026, 3, 1).date()
