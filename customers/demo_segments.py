"""Demo target segments, the portrait matrix and product statuses that follow the ledger."""

import random
from datetime import date

from .models import CustomerProduct, PortraitEntry, Product, Segment, SegmentRule
from .segment_rules import segments_assign

# name, priority, rules (field, operator, value), target SKUs
DEMO_SEGMENTS = [
    (
        "Large manufacturers",
        10,
        [("industry", "eq", "Manufacturing"), ("employees", "gte", "250")],
        ["EQ-100", "EQ-200", "CO-010", "SV-001", "SV-002"],
    ),
    ("Small manufacturers", 20, [("industry", "eq", "Manufacturing")], ["EQ-300", "CO-010", "CO-020", "SV-001"]),
    (
        "Retail and hospitality",
        30,
        [("industry", "in", "Retail, Hospitality, Food service")],
        ["EQ-300", "CO-020", "CO-030", "SV-003"],
    ),
    (
        "Logistics and construction",
        40,
        [("industry", "in", "Logistics, Construction")],
        ["EQ-200", "CO-010", "SV-001", "SV-003"],
    ),
    ("Public services", 50, [("industry", "in", "Education, Healthcare")], ["CO-020", "CO-030", "SV-002"]),
]


def seed_segments() -> None:
    """Segments with rules and their target products (the catalogue must exist)."""
    products = {p.sku: p for p in Product.objects.all()}
    for name, priority, rules, skus in DEMO_SEGMENTS:
        segment, created = Segment.objects.get_or_create(name=name, defaults={"priority": priority})
        if created:
            SegmentRule.objects.bulk_create(
                SegmentRule(segment=segment, field=f, operator=o, value=v) for f, o, v in rules
            )
            PortraitEntry.objects.bulk_create(
                PortraitEntry(segment=segment, product=products[sku]) for sku in skus if sku in products
            )
    segments_assign()


def seed_product_statuses(*, rng: random.Random, today: date) -> int:
    """Offered, refused or contract signed for some target products a customer does not
    use yet (products bought are "in use" already: the ledger's demo marks them)."""
    in_use = set(CustomerProduct.objects.values_list("customer_id", "product_id"))
    targets = PortraitEntry.objects.values_list("segment_id", "product_id")
    by_segment = {}
    for segment_id, product_id in targets:
        by_segment.setdefault(segment_id, []).append(product_id)
    from .models import Customer

    statuses = {}
    for customer_id, segment_id in Customer.objects.filter(segment__isnull=False).values_list("pk", "segment_id"):
        for product_id in by_segment.get(segment_id, []):
            if (customer_id, product_id) in in_use or rng.random() > 0.35:
                continue
            status = rng.choice(
                [CustomerProduct.Status.OFFERED, CustomerProduct.Status.REFUSED, CustomerProduct.Status.CONTRACT]
            )
            statuses[(customer_id, product_id)] = CustomerProduct(
                customer_id=customer_id,
                product_id=product_id,
                status=status,
                status_date=date.fromordinal(today.toordinal() - rng.randint(1, 400)),
                refusal_reason="Budget frozen this year" if status == CustomerProduct.Status.REFUSED else "",
            )
    CustomerProduct.objects.bulk_create(statuses.values(), batch_size=2000)
    return len(statuses)
