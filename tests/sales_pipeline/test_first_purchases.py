"""Each customer's first two purchase days (FirstPurchases) are kept by triggers on the
day table: whoever writes the ledger, the table equals the first two days with a positive
line read from the ledger itself, and the nudge's median and due customers read from it
equal classification.second_purchase_nudge on the ledger's own days."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection

from customers.models import Customer
from sales_pipeline import selectors
from sales_pipeline.ledger_days import settlement_days_rebuild
from sales_pipeline.models import FirstPurchases, SettlementDay, SettlementLine
from segmentation import selectors as segments
from segmentation.classification import nudge_ages, second_purchase_nudge
from tests.factories import CustomerFactory, ProductFactory
from tests.sales_pipeline.test_settlement_import import run_import, write_csv

D = date(2026, 5, 31)


def line(customer, amount, day, key=None):
    return SettlementLine.objects.create(
        customer=customer, date=day, amount=Decimal(amount), source_key=key or f"fp-{random.random()}"
    )


def kept() -> dict[int, tuple]:
    return {row.customer_id: (row.first_date, row.second_date, row.gap_days) for row in FirstPurchases.objects.all()}


def from_ledger() -> dict[int, tuple]:
    """The first two distinct days with a positive line, per customer, from the lines."""
    purchase_days: dict[int, set] = {}
    for customer_id, day in SettlementLine.objects.filter(amount__gt=0).values_list("customer_id", "date"):
        purchase_days.setdefault(customer_id, set()).add(day)
    expected = {}
    for customer_id, days in purchase_days.items():
        first, *rest = sorted(days)
        second = rest[0] if rest else None
        expected[customer_id] = (first, second, (second - first).days if second else None)
    return expected


def test_the_first_two_purchase_days_follow_inserts_updates_and_deletes(db):
    customer = CustomerFactory()
    ago = lambda n: D - timedelta(days=n)  # noqa: E731
    line(customer, "-5", ago(50))  # a return alone is no purchase
    assert kept() == {}
    third = line(customer, "10", ago(10))
    assert kept() == {customer.pk: (ago(10), None, None)}
    line(customer, "3", ago(30))
    first = line(customer, "4", ago(40))
    assert kept() == {customer.pk: (ago(40), ago(30), 10)}
    line(customer, "7", ago(5))  # after the second purchase: nothing to change
    assert kept() == {customer.pk: (ago(40), ago(30), 10)}
    SettlementLine.objects.filter(pk=first.pk).update(amount=Decimal("-4"))  # the first day is a return now
    assert kept() == {customer.pk: (ago(30), ago(10), 20)}
    SettlementLine.objects.filter(pk=third.pk).update(date=ago(45))  # moved before the others
    assert kept() == {customer.pk: (ago(45), ago(30), 15)}
    SettlementLine.objects.filter(customer=customer, amount__gt=0).delete()
    assert kept() == {}
    assert kept() == from_ledger()


def test_a_line_moved_to_another_customer_moves_its_purchase(db):
    left, right = CustomerFactory.create_batch(2)
    moved = line(left, "10", D)
    SettlementLine.objects.filter(pk=moved.pk).update(customer=right)
    assert kept() == {right.pk: (D, None, None)}


def test_random_writes_keep_the_table_equal_to_the_ledger(db):
    rng = random.Random(15)
    customers = CustomerFactory.create_batch(6)
    lines = []
    for step in range(120):
        action = rng.random()
        if action < 0.6 or not lines:
            amount = rng.choice(["5", "12.5", "-3", "0.0001", "-0.5"])
            lines.append(line(rng.choice(customers), amount, D - timedelta(days=rng.randrange(40)), key=f"r{step}"))
        elif action < 0.8:
            target = lines.pop(rng.randrange(len(lines)))
            SettlementLine.objects.filter(pk=target.pk).delete()
        else:
            target = rng.choice(lines)
            SettlementLine.objects.filter(pk=target.pk).update(
                amount=Decimal(rng.choice(["8", "-8"])), date=D - timedelta(days=rng.randrange(40))
            )
        assert kept() == from_ledger(), step


def test_the_import_and_the_day_table_rebuild_keep_it(db, tmp_path):
    CustomerFactory(external_ref="C1")
    CustomerFactory(external_ref="C2")
    ProductFactory(sku="P1")
    rows = [
        ["C1", "2024-05-03", "P1", "10.00", "1", "INV1"],
        ["C1", "2024-05-01", "P1", "10.00", "1", "INV2"],
        ["C1", "2024-05-01", "P1", "-20.00", "1", "CN1"],  # the day still has a purchase line
        ["C2", "2024-05-02", "P1", "-7", "1", "CN2"],
        ["C2", "2024-05-09", "P1", "7", "1", "INV3"],
    ]
    assert run_import(write_csv(tmp_path / "s.csv", rows)).lines_created == 5
    assert kept() == from_ledger()
    assert len(kept()) == 2
    FirstPurchases.objects.all().delete()
    SettlementDay.objects.all().delete()
    settlement_days_rebuild()
    assert kept() == from_ledger()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_truncating_the_ledger_empties_it():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    line(CustomerFactory(), "1", D)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {SettlementLine._meta.db_table}")
    assert kept() == {}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_median_and_the_due_customers_equal_the_nudge_on_the_ledgers_own_days(db, seed):
    # given random purchase histories, some with returns, read at several dates
    rng = random.Random(seed)
    customers = CustomerFactory.create_batch(25)
    for n, customer in enumerate(customers):
        for k in range(rng.randrange(0, 4)):
            day = D - timedelta(days=rng.randrange(0, 200))
            line(customer, rng.choice(["10", "10", "-2"]), day, key=f"m{n}-{k}")
    for as_of in [D, D - timedelta(days=60), D - timedelta(days=150), D + timedelta(days=30)]:
        # when
        median = selectors.median_second_purchase_gap(up_to=as_of)
        due = []
        if median is not None:
            ages = nudge_ages(median, as_of=as_of, period_months=3)
            due = [
                (c.pk, (as_of - c.first_purchase).days)
                for c in segments.one_time_buyers(Customer.objects.all(), as_of=as_of, ages=ages)
            ]
        # then the same as the rule on the first two days taken straight from the lines
        first_second = pd.DataFrame(
            [
                (customer_id, first, second if second and second <= as_of else None)
                for customer_id, (first, second, _) in from_ledger().items()
                if first <= as_of
            ],
            columns=["customer_id", "first_date", "second_date"],
        )
        expected_median, listed = second_purchase_nudge(first_second, as_of=as_of, period_months=3)
        assert median == expected_median
        assert sorted(due) == sorted(zip(listed["customer_id"].tolist(), listed["age_days"].tolist(), strict=True))
        assert selectors.first_purchase_days(up_to=as_of).astype(str).equals(
            first_second.sort_values("customer_id", ignore_index=True).astype(str)
        )
