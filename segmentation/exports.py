"""The segment export: one row per customer, the columns export_segments promises."""

from collections.abc import Iterator
from decimal import Decimal

from .models import CustomerSnapshot

HEADER = [
    "customer",
    "status",
    "abc",
    "xyz",
    "revenue",
    "cov",
    "recency",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "rfm_segment",
]


def money_text(value: Decimal | None) -> str:
    """Exact, without trailing zeros beyond the cents ("12.50", "0.001", "-3.00")."""
    if value is None:
        return ""
    cents = value.quantize(Decimal("0.01"))
    return str(cents) if cents == value else str(value.normalize())


def segment_rows(snapshots) -> Iterator[list]:
    """Rows for HEADER from a CustomerSnapshot queryset; empty cells where a class does not
    apply. From class intervals (a date whose full snapshot was pruned) the figures'
    cells are empty."""
    if snapshots.model is not CustomerSnapshot:
        rows = snapshots.order_by("customer__external_ref", "customer_id").values_list(
            "customer__external_ref", "customer_id", "status", "abc", "xyz", "rfm_segment"
        )
        for ref, pk, status, abc, xyz, segment in rows.iterator(2000):
            yield [ref or f"#{pk}", status, abc, xyz, *[""] * 8, segment]
        return
    fields = [
        "customer__external_ref",
        "customer_id",
        "status",
        "abc",
        "xyz",
        "value",
        "cov",
        "recency",
        "frequency",
        "monetary",
        "r",
        "f",
        "m",
        "rfm_segment",
    ]
    for row in snapshots.order_by("customer__external_ref", "customer_id").values_list(*fields).iterator(2000):
        ref, pk, status, abc, xyz, value, cov, recency, frequency, monetary, r, f, m, segment = row
        yield [
            ref or f"#{pk}",
            status,
            abc,
            xyz,
            money_text(value),
            "" if cov is None else repr(cov),
            _blank(recency),
            _blank(frequency),
            money_text(monetary),
            _blank(r),
            _blank(f),
            _blank(m),
            segment,
        ]


def _blank(value):
    return "" if value is None else value
