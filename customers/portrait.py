"""The ideal customer portrait: which products each segment should own, how far each
customer is from it (maturity), and what to offer next (domain.md section 3)."""

import operator
from collections import defaultdict
from datetime import date
from functools import reduce

from django.db import transaction
from django.db.models import (
    Count,
    DateField,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
)  # fmt: skip
from django.db.models.functions import Cast, Coalesce, NullIf
from django.db.models.lookups import In
from django.utils.translation import gettext

from crm_project.dates import business_today, months_before
from crm_project.prepared import Prepared, id_places, id_slots, id_values

from .models import Customer, CustomerProduct, PortraitEntry, Product, ProductLine

REFUSAL_MEMORY_MONTHS = 6  # a refusal blocks re-offering the product for this long


def targets_by_segment(segment_ids) -> dict[int, list[Product]]:
    """Target products per segment, in one query."""
    entries = (
        PortraitEntry.objects.filter(segment_id__in=set(segment_ids) - {None})
        .select_related("product", "product__line")
        .order_by("product__name")
    )
    targets = defaultdict(list)
    for entry in entries:
        targets[entry.segment_id].append(entry.product)
    return targets


def offer_next_for(
    customer_ids, *, today: date | None = None, segments: dict | None = None
) -> dict[int, list[Product]]:
    """For each customer: its segment's target products that are not in use and were not
    refused in the last six months, half-open: a refusal dated exactly six months before
    `today` no longer blocks (months_before clips to the month's end). Three queries for
    any number of customers; two when the caller has each customer's segment at hand
    (`segments`: {customer id: segment id}, for every one of `customer_ids`)."""
    today = today or business_today()
    refused_after = months_before(today, REFUSAL_MEMORY_MONTHS)
    if segments is None:
        segments = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "segment_id"))
    targets = targets_by_segment(segments.values())
    blocked = set(
        CustomerProduct.objects.filter(customer_id__in=customer_ids)
        .filter(
            Q(status=CustomerProduct.Status.IN_USE)
            | Q(status=CustomerProduct.Status.REFUSED, status_date__gt=refused_after)
        )
        .values_list("customer_id", "product_id")
    )
    return {
        customer_id: [p for p in targets.get(segment_id, []) if (customer_id, p.pk) not in blocked]
        for customer_id, segment_id in segments.items()
    }


def _targets(places: int):
    return (
        PortraitEntry.objects.filter(In(F("segment_id"), id_slots("segment", places)))
        .order_by("product__name")
        .values("segment_id", "product_id", "product__name")
    )


def _blocked(places: int, *, refused_after):
    return CustomerProduct.objects.filter(In(F("customer_id"), id_slots("customer", places))).filter(
        Q(status=CustomerProduct.Status.IN_USE)
        | Q(status=CustomerProduct.Status.REFUSED, status_date__gt=refused_after)
    ).values("customer_id", "product_id")


# offer_next_for's two queries, compiled once per number of places (crm_project.prepared)
_TARGETS = Prepared(_targets)
_BLOCKED = Prepared(_blocked, refused_after=DateField())


def offer_next_of(segments: dict, *, today: date | None = None) -> dict[int, list[Product]]:
    """offer_next_for with each customer's segment at hand (`segments`: {customer id:
    segment id}), its two queries compiled once, for a page that draws the products' names
    (the agenda): each product a Product with its pk and name only."""
    segment_ids = set(segments.values()) - {None}
    if not segment_ids:
        return {customer_id: [] for customer_id in segments}
    places = id_places(segment_ids)
    targets, products = defaultdict(list), {}
    for row in _TARGETS.rows(places, **id_values("segment", segment_ids, places)):
        product = products.get(row["product_id"])
        if product is None:
            product = products[row["product_id"]] = Product(pk=row["product_id"], name=row["product__name"])
        targets[row["segment_id"]].append(product)
    refused_after = months_before(today or business_today(), REFUSAL_MEMORY_MONTHS)
    places = id_places(segments)
    rows = _BLOCKED.rows(places, refused_after=refused_after, **id_values("customer", segments, places))
    blocked = {(row["customer_id"], row["product_id"]) for row in rows}
    return {
        customer_id: [p for p in targets.get(segment_id, []) if (customer_id, p.pk) not in blocked]
        for customer_id, segment_id in segments.items()
    }


def blocks_offer(status: str, status_date: date | None, refused_after: date) -> bool:
    """A product in use, or refused after `refused_after`, is not offered again."""
    if status == CustomerProduct.Status.IN_USE:
        return True
    return status == CustomerProduct.Status.REFUSED and status_date is not None and status_date > refused_after


def offer_next_from_row(product_row: list[dict], *, today: date | None = None) -> list[Product]:
    """offer_next_for for one customer whose product row (selectors.customer_product_row)
    is already at hand: the same rule read from the row, so the card spends no query on it."""
    refused_after = months_before(today or business_today(), REFUSAL_MEMORY_MONTHS)
    return [
        cell["product"]
        for cell in product_row
        if cell["target"]
        and not (cell["status"] and blocks_offer(cell["status"].status, cell["status"].status_date, refused_after))
    ]


def with_maturity(queryset, prefix: str = ""):
    """Annotate target_count, in_use_count and maturity (0..1, None without targets) in SQL,
    so lists sort by it. `prefix` "customer__": on rows that hang off a customer, reading
    the customer's segment in the subqueries (no join: a count of the rows stays on their
    own table)."""
    if prefix:
        customer_pk = OuterRef(prefix.removesuffix("__") + "_id")  # the row's own column
        segment = Subquery(Customer.objects.filter(pk=OuterRef(customer_pk)).values("segment_id")[:1])
    else:
        customer_pk, segment = OuterRef("pk"), OuterRef("segment_id")
    targets = (
        PortraitEntry.objects.filter(segment_id=segment)
        .order_by()
        .values("segment_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    in_use = (
        CustomerProduct.objects.filter(
            customer_id=customer_pk,
            status=CustomerProduct.Status.IN_USE,
            product__portrait_entries__segment_id=segment,
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(
        target_count=Coalesce(Subquery(targets, output_field=IntegerField()), Value(0)),
        in_use_count=Coalesce(Subquery(in_use, output_field=IntegerField()), Value(0)),
    ).annotate(
        maturity=ExpressionWrapper(
            Cast(F("in_use_count"), FloatField()) / NullIf(F("target_count"), Value(0)), output_field=FloatField()
        )
    )


def maturity(in_use_count: int, target_count: int) -> float | None:
    """Target products in use / target products of the segment."""
    return in_use_count / target_count if target_count else None


def untargeted_products():
    """Active products that no segment targets: sold once, fit no portrait."""
    return Product.objects.filter(is_active=True, portrait_entries__isnull=True).select_related("line")


@transaction.atomic
def product_status_set(
    *, customer: Customer, product: Product, status: str, status_date: date | None = None, reason: str = ""
) -> CustomerProduct:
    """Record where `customer` stands with `product` (history kept by the model). Called
    by the card's status control, and by deals and settlements as they land."""
    if status not in CustomerProduct.Status.values:
        raise ValueError(f"unknown product status {status!r}")
    record = CustomerProduct.objects.filter(customer=customer, product=product).first()
    record = record or CustomerProduct(customer=customer, product=product)
    record.status = status
    record.status_date = None if status == CustomerProduct.Status.NOT_OFFERED else (status_date or business_today())
    record.refusal_reason = reason if status == CustomerProduct.Status.REFUSED else ""
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def portrait_save(*, marks: set[tuple[int, int]], products: set[int] | None = None) -> tuple[int, int]:
    """Make the portrait matrix exactly `marks` ((segment id, product id) pairs) over
    `products` (every product when None); marks of other products stay. Returns (added,
    removed)."""
    entries = PortraitEntry.objects.all() if products is None else PortraitEntry.objects.filter(product__in=products)
    current = set(entries.values_list("segment_id", "product_id"))
    removed = current - marks
    added = marks - current
    if removed:  # one statement for all of them
        PortraitEntry.objects.filter(
            reduce(operator.or_, (Q(segment_id=s, product_id=p) for s, p in removed))
        ).delete()
    PortraitEntry.objects.bulk_create(PortraitEntry(segment_id=s, product_id=p) for s, p in added)
    return len(added), len(removed)


def portrait_lines() -> list[dict]:
    """The product lines with active products, by name, then the products without a line:
    {"key": str(line id) or "none", "name", "products": count, "marks": targeted products}."""
    active = Q(products__is_active=True)
    lines = [
        {"key": str(line.pk), "name": line.name, "products": line.n, "marks": line.marked}
        for line in ProductLine.objects.annotate(
            n=Count("products", filter=active, distinct=True),
            marked=Count("products", filter=active & Q(products__portrait_entries__isnull=False), distinct=True),
        )
        .filter(n__gt=0)
        .order_by("name")
    ]
    loose = Product.objects.filter(line__isnull=True, is_active=True)
    count = loose.count()
    if count:
        marked = loose.filter(portrait_entries__isnull=False).distinct().count()
        lines.append({"key": "none", "name": gettext("Without a line"), "products": count, "marks": marked})
    total = sum(entry["products"] for entry in lines)
    if len(lines) > 1 and total <= PORTRAIT_ALL_LIMIT:  # a small catalogue reads best whole, and first
        marks = sum(entry["marks"] for entry in lines)
        lines.insert(0, {"key": "all", "name": gettext("All lines"), "products": total, "marks": marks})
    return lines


# Up to this many active products the portrait also offers every line on one page.
PORTRAIT_ALL_LIMIT = 100


def portrait_products(key: str) -> list:
    """The active products of one portrait_lines() entry: the line's by name, or every line's
    (by line, then name) for "all"."""
    products = Product.objects.filter(is_active=True).select_related("line")
    if key == "all":
        return list(products.order_by(F("line__name").asc(nulls_last=True), "name", "sku"))
    products = products.order_by("name", "sku")
    return list(products.filter(line__isnull=True) if key == "none" else products.filter(line_id=int(key)))


def segment_counts() -> dict[int | None, int]:
    return dict(Customer.objects.values_list("segment_id").annotate(n=Count("pk")).order_by())
