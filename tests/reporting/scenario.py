"""A small ledger whose KPIs for Q2 2024 were worked out by hand (see the comments),
shared by the command, page and access tests. Classification with the default settings
(window 12 months, period 3 months)."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from customers.models import ProductLine
from sales_pipeline.models import SettlementLine
from tests.factories import CustomerFactory, ProductFactory

START, END = date(2024, 4, 1), date(2024, 6, 30)


def aware(day: date):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def build(mgr_a, mgr_b, mgr_c) -> dict:
    l1, l2 = ProductLine.objects.create(name="Line one"), ProductLine.objects.create(name="Line two")
    p1, p2 = ProductFactory(sku="P1", line=l1), ProductFactory(sku="P2", line=l2)
    p3 = ProductFactory(sku="P3", line=None)
    c = {
        # lost at S (last line Feb 2023), restored at E; class none -> BZ
        "A": CustomerFactory(external_ref="A", name="Anvil", manager=mgr_a, created_at=aware(date(2023, 1, 1))),
        # lost at S and at E (so not "lost" in the period); class BZ -> AZ
        "B": CustomerFactory(external_ref="B", name="Bolt", manager=mgr_a, created_at=aware(date(2023, 6, 1))),
        # new at S, lost at E; class A -> AZ
        "C": CustomerFactory(external_ref="C", name="Cog", manager=mgr_b, created_at=aware(date(2023, 6, 1))),
        # created in the period and bought: primary for mgr_c, new at E, class none -> C
        "D": CustomerFactory(external_ref="D", name="Dowel", manager=mgr_c, created_at=aware(date(2024, 5, 10))),
        # created in the period, no line: potential (pool, mgr_b)
        "E": CustomerFactory(external_ref="E", name="Eyelet", manager=None, created_at=aware(date(2024, 6, 1))),
        "F": CustomerFactory(external_ref="F", name="Flange", manager=mgr_b, created_at=aware(date(2024, 4, 10))),
    }
    lines = [
        ("A", date(2023, 2, 1), p1, mgr_a, "100"),
        ("A", date(2024, 5, 1), p1, mgr_a, "50"),  # repeat, mgr_a
        ("A", date(2024, 5, 2), p2, mgr_b, "30"),  # new direction, recorded by mgr_b
        ("B", date(2023, 12, 15), p1, mgr_a, "100"),
        ("C", date(2024, 1, 15), p1, mgr_b, "200"),
        ("D", date(2024, 5, 20), p3, mgr_c, "80"),  # primary ("no line")
        ("D", date(2024, 5, 20), p1, mgr_c, "-10"),  # a return on the first day: primary
    ]
    for n, (ref, day, product, manager, amount) in enumerate(lines):
        SettlementLine.objects.create(
            customer=c[ref], date=day, product=product, manager=manager, amount=Decimal(amount), source_key=f"s{n}"
        )
    return c


# The by-manager CSV, by hand (username -> the columns after `manager`).
EXPECTED_MANAGERS = {
    #            pot prim_c prim_amt rep_c rep_amt nd_c nd_amt created conv conversion reg new rest lost cls
    "mgr_a": ["0", "0", "0.0000", "1", "50.0000", "0", "0.0000", "0", "0", "", "0", "0", "1", "0", "2"],
    "mgr_b": ["1", "0", "0.0000", "0", "0.0000", "1", "30.0000", "1", "0", "0.0000", "0", "0", "0", "1", "1"],
    "mgr_c": ["0", "1", "70.0000", "0", "0.0000", "0", "0.0000", "1", "1", "1.0000", "0", "1", "0", "0", "1"],
    "": ["1", "0", "0.0000", "0", "0.0000", "0", "0.0000", "1", "0", "0.0000", "0", "0", "0", "0", "0"],
    "team:T1": ["1", "0", "0.0000", "1", "50.0000", "1", "30.0000", "1", "0", "0.0000", "0", "0", "1", "1", "3"],
    "team:T2": ["0", "1", "70.0000", "0", "0.0000", "0", "0.0000", "1", "1", "1.0000", "0", "1", "0", "0", "1"],
    "TOTAL": ["2", "1", "70.0000", "1", "50.0000", "1", "30.0000", "3", "1", "0.3333", "0", "1", "1", "1", "4"],
}
