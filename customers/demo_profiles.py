"""Demo profiles: the from-birth and relationship attributes of the demo customers, their
contact persons, and a small competitor directory with links. Deterministic for a given
rng; bulk writes only, so 50,000 customers take seconds."""

import random
from datetime import date, timedelta

from django.utils import timezone

from crm_project.dates import business_today

from .demo import FIRST_NAMES, LAST_NAMES
from .models import Competitor, Contact, Customer, CustomerCompetitor, normalize_name
from .services.profiles import customers_update_with_history

BATCH = 1_000

ACTIVITY_BY_INDUSTRY = {
    "Manufacturing": Customer.ActivityType.PRODUCTION,
    "Retail": Customer.ActivityType.TRADE,
    "Construction": Customer.ActivityType.SERVICES,
    "Food service": Customer.ActivityType.CATERING,
    "Education": Customer.ActivityType.EDUCATION,
    "Logistics": Customer.ActivityType.SERVICES,
    "Healthcare": Customer.ActivityType.PUBLIC,
    "IT services": Customer.ActivityType.SERVICES,
    "Hospitality": Customer.ActivityType.CATERING,
    "Agriculture": Customer.ActivityType.PRODUCTION,
}
# Share of customers in the industry who sell mainly to consumers.
B2C_SHARE = {"Retail": 0.8, "Hospitality": 0.9, "Food service": 0.85, "Healthcare": 0.5, "Education": 0.4}
CHANNELS = [
    (Customer.Channel.REFERRAL, 15),
    (Customer.Channel.WEBSITE, 30),
    (Customer.Channel.COLD_CALL, 15),
    (Customer.Channel.EXHIBITION, 10),
    (Customer.Channel.ADVERTISING, 10),
    (Customer.Channel.PARTNER, 12),
    (Customer.Channel.OTHER, 8),
]
RELATIONSHIPS = [
    (Customer.Relationship.TRANSACTIONAL, 30),
    (Customer.Relationship.LONG_TERM, 30),
    (Customer.Relationship.PERSONAL, 12),
    (Customer.Relationship.DEDICATED, 8),
    (Customer.Relationship.SELF_SERVICE, 10),
    (Customer.Relationship.AUTOMATED, 5),
    (Customer.Relationship.COMMUNITY, 5),
]
PSYCHOTYPES = [
    (Customer.Psychotype.RELATIONSHIP_SEEKER, 25),
    (Customer.Psychotype.LOYAL, 35),
    (Customer.Psychotype.EXPLOITER, 15),
    (Customer.Psychotype.ONE_TIME, 15),
    ("", 10),  # not judged yet
]
POSITIONS = [
    "Owner",
    "Managing director",
    "Purchasing manager",
    "Buyer",
    "Finance director",
    "Operations manager",
    "Office manager",
    "Head of IT",
    "Production manager",
]
COMPETITORS = [
    ("PackRight Ltd", "Lowest prices on consumables; next-day delivery", "Slow service call-outs; no training offer"),
    ("Northline Supplies", "Large catalogue; strong in the North", "Frequent stock-outs; rigid payment terms"),
    ("Conveyo GmbH", "Engineering quality; long warranties", "Expensive; long lead times from Germany"),
    ("LabelHub", "Online ordering and self-service portal", "No on-site support; generic products"),
    ("ServicePro UK", "24/7 maintenance hotline", "Only services, no equipment; high hourly rates"),
]
LINK_SHARE = 0.2
PROFILE_FIELDS = [
    "activity_type",
    "client_type",
    "employees",
    "has_branches",
    "year_founded",
    "birthday",
    "tax_id",
    "acquisition_channel",
    "referred_by",
    "relationship_type",
    "psychotype",
    "normalized_name",
    "updated_at",
]


def _weighted(rng: random.Random, pairs):
    return rng.choices([value for value, _ in pairs], weights=[weight for _, weight in pairs])[0]


def _birthday(rng: random.Random, first_year: int, last_year: int) -> date:
    # Spread evenly over the calendar, so the agenda has birthdays every week.
    return date(rng.randint(first_year, last_year), 1, 1) + timedelta(days=rng.randrange(365))


def seed_profiles(*, customers: list[Customer], rng: random.Random) -> dict[str, int]:
    """Fill the profiles of `customers` (saved, as seed_demo creates them), add 1-3
    contacts per company and link about LINK_SHARE of the customers to competitors.
    Writes one history row per customer (the profile filled in). Returns counts."""
    today = business_today()
    now = timezone.now()
    earlier_by_manager: dict[int | None, list[Customer]] = {}
    contacts = []
    for customer in customers:
        customer.normalized_name = normalize_name(customer.name)
        customer.updated_at = now
        if customer.kind == Customer.Kind.PERSON:
            customer.birthday = _birthday(rng, 1950, 2000)
        else:
            customer.activity_type = ACTIVITY_BY_INDUSTRY.get(customer.industry, Customer.ActivityType.OTHER)
            b2c = rng.random() < B2C_SHARE.get(customer.industry, 0.15)
            customer.client_type = Customer.ClientType.B2C if b2c else Customer.ClientType.B2B
            # Company sizes are heavily skewed: most are small, a few have thousands.
            customer.employees = min(int(rng.lognormvariate(3.5, 1.4)) + 1, 25_000)
            customer.has_branches = rng.random() < min(0.9, 0.05 + customer.employees / 300)
            customer.year_founded = max(1900, today.year - int(rng.expovariate(1 / 18)))
            customer.tax_id = f"GB{rng.randint(100_000_000, 999_999_999)}"
            contacts += _contacts(customer, rng)
        customer.acquisition_channel = _weighted(rng, CHANNELS)
        earlier = earlier_by_manager.setdefault(customer.manager_id, [])
        if customer.acquisition_channel == Customer.Channel.REFERRAL and earlier:
            # Referred by one of the same manager's customers, so the manager can open it.
            customer.referred_by = rng.choice(earlier)
        customer.relationship_type = _weighted(rng, RELATIONSHIPS)
        customer.psychotype = _weighted(rng, PSYCHOTYPES)
        earlier.append(customer)
    customers_update_with_history(customers, PROFILE_FIELDS, reason="Demo profile")
    Contact.objects.bulk_create(contacts, batch_size=BATCH)
    links = _competitor_links(customers, rng)
    return {"contacts": len(contacts), "competitor_links": links}


def _contacts(customer: Customer, rng: random.Random) -> list[Contact]:
    domain = customer.email.rsplit("@", 1)[-1] if "@" in customer.email else "example.com"
    people = []
    for number in range(rng.randint(1, 3)):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        people.append(
            Contact(
                customer=customer,
                name=f"{first} {last}",
                position=POSITIONS[0] if number == 0 and customer.employees < 10 else rng.choice(POSITIONS),
                phone=f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
                email=f"{first}.{last}@{domain}".lower(),
                birthday=_birthday(rng, 1955, 1999),
                is_primary=number == 0,
            )
        )
    return people


def _competitor_links(customers: list[Customer], rng: random.Random) -> int:
    from .demo import seed_catalogue

    competitors = []
    for name, strengths, weaknesses in COMPETITORS:
        competitor, _ = Competitor.objects.update_or_create(
            name=name, defaults={"strengths": strengths, "weaknesses": weaknesses}
        )
        competitors.append(competitor)
    products = sorted(seed_catalogue(), key=lambda product: product.sku)
    links = []
    for customer in customers:
        if rng.random() >= LINK_SHARE:
            continue
        for competitor in rng.sample(competitors, 2 if rng.random() < 0.25 else 1):
            product = rng.choice(products) if rng.random() < 0.8 else None
            notes = rng.choice(["", "", "Contract until year end", "Asked us for a counter-offer", "Price-driven"])
            links.append(CustomerCompetitor(customer=customer, competitor=competitor, product=product, notes=notes))
    CustomerCompetitor.objects.bulk_create(links, batch_size=BATCH)
    return len(links)
