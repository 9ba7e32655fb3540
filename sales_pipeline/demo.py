"""Demo settlement ledger: two years of purchases shaped so that the classification
shows every lifecycle status, every ABC and XYZ class and every activity segment."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Min

from crm_project.dates import months_before
from customers.demo import seed_catalogue
from customers.models import CustomerProduct

from .models import SettlementLine

# profile: share of customers. The shapes are what the classes measure.
PROFILES = [
    ("steady", 0.16),  # every month, +-3 %: X
    ("seasonal", 0.16),  # every month, +-20 %: Y
    ("erratic", 0.20),  # some months, lumpy: Z
    ("new", 0.10),  # first purchase in the current period
    ("lost", 0.12),  # nothing in the current period
    ("restored", 0.08),  # back after a gap of more than a period
    ("one_off", 0.06),  # one purchase long ago
    ("potential", 0.12),  # no purchase at all
]


def _pick_profile(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for name, share in PROFILES:
        total += share
        if roll < total:
            return name
    return PROFILES[-1][0]


def _months(today: date, first: int, last: int) -> list[date]:
    """A purchase day in each month from `first` months ago to `last` months ago."""
    return [months_before(today, k) - timedelta(days=3) for k in range(first, last - 1, -1)]


def _purchase_days(profile: str, today: date, rng: random.Random) -> list[tuple[date, float]]:
    """(day, size multiplier) of a customer's purchases."""
    if profile == "steady":
        return [(day, 1 + rng.uniform(-0.03, 0.03)) for day in _months(today, 23, 0)]
    if profile == "seasonal":
        return [(day, 1 + rng.uniform(-0.3, 0.3)) for day in _months(today, 20, 0)]
    if profile == "erratic":
        return [(day, rng.choice([0.2, 1, 3])) for day in _months(today, 23, 0) if rng.random() < 0.45]
    if profile == "new":
        return [(today - timedelta(days=rng.randint(1, 80)), 1) for _ in range(rng.randint(1, 3))]
    if profile == "lost":
        return [(day, 1) for day in _months(today, 22, rng.randint(4, 10)) if rng.random() < 0.6]
    if profile == "restored":
        old = [(day, 1) for day in _months(today, 20, 12) if rng.random() < 0.7]
        return old + [(today - timedelta(days=rng.randint(1, 60)), 1.5)]
    if profile == "one_off":
        return [(today - timedelta(days=rng.randint(120, 600)), 1)]
    return []


def seed_ledger(*, customers, rng: random.Random, today: date) -> int:
    """Settlement lines for `customers`; returns the number of lines."""
    products = seed_catalogue()
    lines = []
    for customer in customers:
        profile = _pick_profile(rng)
        scale = Decimal(str(round(rng.paretovariate(1.3) * 400, 2)))
        owned = rng.sample(products, rng.randint(1, 3))  # customers buy a few products, not the catalogue
        for day, multiplier in _purchase_days(profile, today, rng):
            product = rng.choice(owned)
            amount = (scale * Decimal(str(round(multiplier, 4)))).quantize(Decimal("0.01"))
            lines.append(_line(customer, product, day, amount, rng, len(lines)))
            # A return a week later, if that day has come (the demo ledger holds no future lines).
            if rng.random() < 0.03 and day + timedelta(days=7) <= today:
                lines.append(_line(customer, product, day + timedelta(days=7), -amount / 2, rng, len(lines)))
    SettlementLine.objects.bulk_create(lines, batch_size=2000)
    return len(lines)


def _line(customer, product, day, amount, rng, number):
    return SettlementLine(
        customer=customer,
        product=product,
        date=day,
        quantity=1,
        amount=amount,
        cost=(amount * Decimal("0.6")).quantize(Decimal("0.01")) if rng.random() < 0.7 else None,
        manager_id=customer.manager_id,
        document=f"INV-{number:06d}",
        source_key=f"demo-{number}",
    )


def mark_products_in_use() -> int:
    """Every product a customer has bought is "in use" for them, dated by the first purchase."""
    bought = (
        SettlementLine.objects.filter(amount__gt=0, product__isnull=False)
        .values_list("customer_id", "product_id")
        .annotate(first=Min("date"))
    )
    statuses = [
        CustomerProduct(customer_id=c, product_id=p, status=CustomerProduct.Status.IN_USE, status_date=first)
        for c, p, first in bought
    ]
    CustomerProduct.objects.bulk_create(statuses, batch_size=2000)
    return len(statuses)


def seed_demo_ledger(demo) -> None:
    """The ledger and the products it puts in use (hooks.DEMO_SEEDERS)."""
    lines = seed_ledger(customers=demo.customers, rng=demo.extra["rng"], today=demo.today)
    mark_products_in_use()
    demo.say(f"Created {len(demo.customers)} customers and {lines} settlement lines.")


def seed_demo_deals(demo) -> None:
    from . import demo_deals

    deals_rng = random.Random(demo.seed + 3)
    demo_deals.seed_deals(customers=demo.customers, users=demo.users, rng=deals_rng, today=demo.today)


def reset_demo() -> None:
    """Deals and the ledger go before the customers they protect (hooks.DEMO_RESETS)."""
    from . import demo_deals

    demo_deals.reset_deals()
    SettlementLine.objects.all().delete()
