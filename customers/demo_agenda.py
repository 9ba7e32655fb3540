"""Demo agenda: two years of interactions, this week's planned contacts (some today, some
overdue), contact persons with birthdays coming up, and a few holidays, so the agenda,
the month calendar and the card's timeline all show data on the first login."""

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .demo import FIRST_NAMES, LAST_NAMES
from .models import Contact, Customer, Holiday, Interaction, PlannedContact, Product

SUMMARIES = {
    Interaction.Kind.CALL: [
        "Called about the current order; delivery date confirmed.",
        "Asked how the last delivery went; no complaints.",
        "Discussed next quarter's volumes.",
        "Followed up on the offer we sent.",
        "Short call: they will get back to us after their budget meeting.",
    ],
    Interaction.Kind.MEETING: [
        "Visited the site, met the production manager.",
        "Presentation of the new range to the purchasing team.",
        "Annual review meeting: happy overall, asked for faster support.",
    ],
    Interaction.Kind.EMAIL: [
        "Sent the price list and the catalogue.",
        "Sent the commercial offer.",
        "Replied to their question about maintenance terms.",
    ],
    Interaction.Kind.LETTER: ["Posted the signed contract.", "Sent the season's greetings card."],
    Interaction.Kind.NOTE: ["Their buyer changes next month.", "Prefers calls before 11:00."],
}
KIND_WEIGHTS = [
    (Interaction.Kind.CALL, 5),
    (Interaction.Kind.EMAIL, 3),
    (Interaction.Kind.MEETING, 1),
    (Interaction.Kind.LETTER, 1),
    (Interaction.Kind.NOTE, 1),
]
OUTCOMES = [o for o, _ in Interaction.Outcome.choices]
PURPOSES = [
    "Follow up on the offer",
    "Agree the delivery date",
    "Present the new range",
    "Ask about satisfaction",
    "Discuss the contract renewal",
    "Remind about the unpaid invoice",
    "Invite to the trade show",
]
POSITIONS = ["Purchasing manager", "Director", "Production manager", "Office manager", "Chief engineer"]


def _aware(day: date, rng: random.Random) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30, 45]))))


def seed_agenda(*, users: dict, customers: list[Customer], rng: random.Random, today: date) -> dict[str, int]:
    """Agenda data for the demo `customers`; returns counts by kind of row."""
    managers = [users[name] for name in ("manager1", "manager2", "manager3") if name in users]
    assigned = [customer for customer in customers if customer.manager_id]
    contacts = _seed_contacts(customers=assigned, managers=managers, rng=rng, today=today)
    interactions = _seed_interactions(customers=assigned, rng=rng, today=today)
    planned = _seed_planned(customers=assigned, managers=managers, interactions=interactions, rng=rng, today=today)
    holidays = _seed_holidays(rng=rng, today=today)
    return {"contacts": contacts, "interactions": len(interactions), "planned": planned, "holidays": holidays}


def _seed_contacts(*, customers, managers, rng, today) -> int:
    """A main contact for about half of the companies that have none (another part of the
    demo may add contacts too), and for each manager two birthdays in the next ten days."""
    with_contacts = set(Contact.objects.filter(customer__in=customers).values_list("customer_id", flat=True))
    new = []
    for customer in customers:
        if customer.pk in with_contacts or customer.kind != Customer.Kind.COMPANY or rng.random() < 0.5:
            continue
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        birthday = date(rng.randint(1960, 1998), 1, 1) + timedelta(days=rng.randint(0, 364))
        new.append(
            Contact(
                customer=customer,
                name=name,
                position=rng.choice(POSITIONS),
                phone=f"+44 7700 {rng.randint(100000, 999999)}",
                email=f"{name.lower().replace(' ', '.')}@example.com",
                birthday=birthday,
                is_primary=True,
            )
        )
    for manager in managers:
        own = [contact for contact in new if contact.customer.manager_id == manager.pk]
        for contact in rng.sample(own, min(2, len(own))):
            soon = today + timedelta(days=rng.randint(0, 10))
            year = rng.randint(1965, 1995)
            contact.birthday = date(year, soon.month, 28 if (soon.month, soon.day) == (2, 29) else soon.day)
    Contact.objects.bulk_create(new)
    return len(new)


def _seed_interactions(*, customers, rng, today) -> dict[int, Interaction]:
    """0-6 interactions per customer over the last two years (never before it became a
    customer). Returns each customer's latest interaction."""
    primary = {c.customer_id: c for c in Contact.objects.filter(customer__in=customers, is_primary=True)}
    kinds, weights = zip(*KIND_WEIGHTS, strict=True)
    rows = []
    for customer in customers:
        first = max(timezone.localdate(customer.created_at), today - timedelta(days=730))
        span = (today - first).days
        for _ in range(rng.randint(0, 6)):
            kind = rng.choices(kinds, weights)[0]
            day = first + timedelta(days=rng.randint(0, max(span - 1, 0)))
            rows.append(
                Interaction(
                    customer=customer,
                    manager_id=customer.manager_id,
                    contact=primary.get(customer.pk) if rng.random() < 0.6 else None,
                    kind=kind,
                    occurred_at=_aware(day, rng),
                    summary=rng.choice(SUMMARIES[kind]),
                    outcome=rng.choice(OUTCOMES) if kind in (Interaction.Kind.CALL, Interaction.Kind.MEETING) else "",
                )
            )
    Interaction.objects.bulk_create(rows, batch_size=1000)
    latest = {}
    for row in sorted(rows, key=lambda r: r.occurred_at):
        latest[row.customer_id] = row
    return latest


def _seed_planned(*, customers, managers, interactions, rng, today) -> int:
    """Per manager: four contacts today, three overdue, three later this week and a few
    over the next three weeks, for the month calendar."""
    products = list(Product.objects.filter(is_active=True))
    if not products:  # the agenda is seeded before the ledger; the catalogue is idempotent
        from .demo import seed_catalogue

        products = seed_catalogue()
    rest_of_week = max(6 - today.weekday(), 2)
    offsets = [0] * 4 + [-rng.randint(1, 6) for _ in range(3)] + [rng.randint(1, rest_of_week) for _ in range(3)]
    offsets += [rng.randint(7, 27) for _ in range(5)]
    planned = []
    for manager in managers:
        own = [customer for customer in customers if customer.manager_id == manager.pk]
        for customer, offset in zip(rng.sample(own, min(len(offsets), len(own))), offsets, strict=False):
            last = interactions.get(customer.pk)
            contact = PlannedContact(
                customer=customer,
                manager=manager,
                due_date=today + timedelta(days=offset),
                purpose=rng.choice(PURPOSES),
                product=rng.choice(products) if products and rng.random() < 0.6 else None,
                planned_in=last if last is not None and last.pk else None,
            )
            contact._history_user = manager
            planned.append(contact)
    bulk_create_with_history(planned, PlannedContact, batch_size=1000)
    return len(planned)


def _seed_holidays(*, rng, today) -> int:
    """New Year and Christmas every year, and one trade day in the next ten days."""
    Holiday.objects.get_or_create(name="New Year", defaults={"date": date(today.year, 1, 1), "yearly": True})
    Holiday.objects.get_or_create(name="Christmas", defaults={"date": date(today.year, 12, 25), "yearly": True})
    Holiday.objects.update_or_create(
        name="Customer Appreciation Day", defaults={"date": today + timedelta(days=rng.randint(2, 9)), "yearly": False}
    )
    return 3
