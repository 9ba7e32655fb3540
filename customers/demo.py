"""Deterministic demo data: the same seed always gives the same CRM.

`seed_demo` calls `seed_people` and `seed_customers`, then the seeders each app registers
(crm_project.hooks.DEMO_SEEDERS) in layer order, so the demo shows every feature with data.
"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from .access import ADMINISTRATOR, DIRECTOR, MANAGER
from .models import Customer, Product, ProductLine, SalesTeam, TeamMembership

CATALOGUE = {
    "Equipment": [("EQ-100", "Packaging machine"), ("EQ-200", "Conveyor module"), ("EQ-300", "Label printer")],
    "Consumables": [("CO-010", "Shrink film roll"), ("CO-020", "Labels, 10k"), ("CO-030", "Ink cartridges")],
    "Services": [("SV-001", "Maintenance contract"), ("SV-002", "Operator training"), ("SV-003", "Installation")],
}

DEMO_PASSWORD = "demo12345"
# username, first name, last name, role, team
DEMO_USERS = [
    ("admin", "Ada", "Admin", ADMINISTRATOR, None),
    ("director", "Diana", "Director", DIRECTOR, None),
    ("manager1", "Mark", "Miller", MANAGER, "North"),
    ("manager2", "Maria", "Moss", MANAGER, "North"),
    ("manager3", "Milo", "Martin", MANAGER, "South"),
]

INDUSTRIES = [
    "Manufacturing",
    "Retail",
    "Construction",
    "Food service",
    "Education",
    "Logistics",
    "Healthcare",
    "IT services",
    "Hospitality",
    "Agriculture",
]
CITIES = [
    "London",
    "Manchester",
    "Leeds",
    "Bristol",
    "Glasgow",
    "Birmingham",
    "Liverpool",
    "Edinburgh",
    "Cardiff",
    "Nottingham",
    "Sheffield",
    "Leicester",
]
NAME_STARTS = [
    "Oak",
    "North",
    "Silver",
    "Bright",
    "Stone",
    "Green",
    "Blue",
    "Iron",
    "Red",
    "Swift",
    "Clear",
    "Harbour",
    "Summit",
    "Meadow",
    "River",
    "Crown",
    "Union",
    "Pioneer",
    "Atlas",
    "Beacon",
]
NAME_ENDS = ["field", "gate", "bridge", "works", "line", "point", "wood", "stone", "ford", "vale"]
SUFFIXES = {
    "Manufacturing": "Industries",
    "Retail": "Stores",
    "Construction": "Builders",
    "Food service": "Catering",
    "Education": "Academy",
    "Logistics": "Freight",
    "Healthcare": "Clinics",
    "IT services": "Systems",
    "Hospitality": "Hotels",
    "Agriculture": "Farms",
}
FIRST_NAMES = [
    "Olivia",
    "George",
    "Amelia",
    "Harry",
    "Isla",
    "Jack",
    "Ava",
    "Noah",
    "Emily",
    "Leo",
    "Sophie",
    "Oscar",
    "Grace",
    "Arthur",
    "Lily",
    "Henry",
    "Freya",
    "Theo",
    "Ella",
    "Alfie",
]
LAST_NAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
]


def seed_people() -> dict[str, object]:
    """The demo users, their roles and two teams. Returns users by username."""
    User = get_user_model()
    teams = {name: SalesTeam.objects.get_or_create(name=name)[0] for name in ("North", "South")}
    users = {}
    for username, first, last, role, team in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@example.com"
        user.is_staff = user.is_superuser = role == ADMINISTRATOR
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        if team:
            TeamMembership.objects.update_or_create(user=user, defaults={"team": teams[team]})
        users[username] = user
    for team in teams.values():
        team.directors.set([users["director"]])
    return users


def seed_customers(*, users: dict, count: int, rng: random.Random) -> list[Customer]:
    """`count` customers spread over two years, mostly assigned, a few in the pool."""
    managers = [users["manager1"], users["manager2"], users["manager3"]]
    now = timezone.now()
    customers = []
    for number in range(1, count + 1):
        industry = rng.choice(INDUSTRIES)
        is_person = rng.random() < 0.15
        if is_person:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        else:
            name = f"{rng.choice(NAME_STARTS)}{rng.choice(NAME_ENDS)} {SUFFIXES[industry]}"
        slug = name.lower().replace(" ", ".")
        customers.append(
            Customer(
                kind=Customer.Kind.PERSON if is_person else Customer.Kind.COMPANY,
                name=name,
                external_ref=f"C{number:05d}",
                manager=None if rng.random() < 0.05 else rng.choice(managers),
                industry="" if is_person else industry,
                city=rng.choice(CITIES),
                email=f"{slug}@example.com",
                phone=f"+44 20 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
                created_at=now - timedelta(days=rng.randint(0, 730), minutes=rng.randint(0, 600)),
            )
        )
    return bulk_create_with_history(customers, Customer, batch_size=1000)


def seed_catalogue() -> list[Product]:
    products = []
    for line_name, items in CATALOGUE.items():
        line, _ = ProductLine.objects.get_or_create(name=line_name)
        for sku, name in items:
            product, _ = Product.objects.get_or_create(sku=sku, defaults={"name": name, "line": line})
            products.append(product)
    return products


def seed_demo_profiles(demo) -> None:
    """Profiles, contacts, competitors and the agenda (hooks.DEMO_SEEDERS, first)."""
    from . import demo_agenda, demo_profiles

    demo_profiles.seed_profiles(customers=demo.customers, rng=random.Random(demo.seed + 2))
    agenda_rng = random.Random(demo.seed + 1)
    demo_agenda.seed_agenda(users=demo.users, customers=demo.customers, rng=agenda_rng, today=demo.today)


def seed_demo_segments(demo) -> None:
    """Segments, the portrait and product statuses, after the ledger marked what is in use."""
    from . import demo_segments

    demo_segments.seed_segments()
    demo_segments.seed_product_statuses(rng=demo.extra["rng"], today=demo.today)
