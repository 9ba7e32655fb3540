"""The ledger's day table (SettlementDay) is kept by database triggers: whoever writes the
ledger, however, the table equals the ledger summed per customer and day."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from sales_pipeline.ledger_days import settlement_days_drift, settlement_days_rebuild, sqlite_days_added_per_batch
from sales_pipeline.models import SettlementDay, SettlementLine
from sales_pipeline.services import deals as deal_services
from sales_pipeline.services import ledger
from tests.factories import CustomerFactory, ProductFactory, SettlementLineFactory
from tests.sales_pipeline.test_payments import TODAY, at_payment
from tests.sales_pipeline.test_settlement_import import run_import, write_csv

D = date(2026, 5, 31)


def days() -> dict[tuple[int, date], tuple[int, int, int, int]]:
    return {
        (d.customer_id, d.date): (d.amount, d.cost, d.lines, d.positive_lines) for d in SettlementDay.objects.all()
    }


def line(customer, amount, *, day=D, cost=None):
    return SettlementLineFactory(customer=customer, date=day, amount=Decimal(amount), cost=cost)


def test_every_trigger_is_still_on_the_ledger_after_all_migrations(db):
    # A migration that remakes the ledger table (SQLite does for most AlterFields) drops them.
    sql = {
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
        "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(sql, [SettlementLine._meta.db_table])
        names = {name for (name,) in cursor.fetchall()}
    expected = {"settlement_day_insert", "settlement_day_update", "settlement_day_delete"}
    assert names == (expected | {"settlement_day_truncate"} if connection.vendor == "postgresql" else expected)


def test_lines_of_one_day_add_up_exactly_in_ten_thousandths(db):
    customer = CustomerFactory()
    line(customer, "10.0001", cost=Decimal("4.5"))
    line(customer, "-3")
    line(customer, "0.0003", day=D - timedelta(days=1))
    assert days() == {
        (customer.pk, D): (70_001, 45_000, 2, 1),
        (customer.pk, D - timedelta(days=1)): (3, 0, 1, 1),
    }
    assert settlement_days_drift() == []


def test_changing_a_lines_amount_date_or_customer_moves_its_sums(db):
    first, second = CustomerFactory.create_batch(2)
    moved = line(first, "100")
    line(first, "5")
    SettlementLine.objects.filter(pk=moved.pk).update(amount=Decimal("-40"))
    assert days() == {(first.pk, D): (-350_000, 0, 2, 1)}
    SettlementLine.objects.filter(pk=moved.pk).update(date=D - timedelta(days=2), customer=second)
    assert days() == {(first.pk, D): (50_000, 0, 1, 1), (second.pk, D - timedelta(days=2)): (-400_000, 0, 1, 0)}
    assert settlement_days_drift() == []


def test_deleting_the_last_line_of_a_day_removes_the_day(db):
    customer = CustomerFactory()
    kept, gone = line(customer, "1"), line(customer, "2", day=D - timedelta(days=9))
    gone.delete()
    assert days() == {(customer.pk, D): (10_000, 0, 1, 1)}
    SettlementLine.objects.filter(pk=kept.pk).delete()
    assert days() == {}


def test_bulk_create_and_a_queryset_delete_are_statements_like_any_other(db):
    customers = CustomerFactory.create_batch(3)
    SettlementLine.objects.bulk_create(
        SettlementLine(customer=c, date=D - timedelta(days=k), amount=Decimal(k + 1), source_key=f"bulk-{c.pk}-{k}")
        for c in customers
        for k in range(4)
    )
    assert len(days()) == 12 and settlement_days_drift() == []
    SettlementLine.objects.filter(customer=customers[0]).delete()
    assert {customer_id for customer_id, _ in days()} == {customers[1].pk, customers[2].pk}
    assert settlement_days_drift() == []


def test_an_import_adds_its_lines_once_and_a_second_import_adds_nothing(db, tmp_path):
    CustomerFactory(external_ref="C1")
    CustomerFactory(external_ref="C2")
    ProductFactory(sku="P1")
    ProductFactory(sku="P2")
    path = write_csv(
        tmp_path / "s.csv",
        [
            ["C1", "2024-05-01", "P1", "10.00", "1", "INV1"],
            ["C1", "2024-05-01T23:30:00", "P2", "-2.50", "1", "CN1"],
            ["C2", "2024-05-02", "P1", "7.1234", "1", "INV2"],
        ],
    )
    assert run_import(path).lines_created == 3
    after_first = days()
    assert sorted(after_first.values()) == [(71_234, 0, 1, 1), (75_000, 0, 2, 1)]
    assert run_import(path).lines_skipped == 3
    assert days() == after_first
    assert settlement_days_drift() == []


def test_an_import_in_several_chunks_adds_to_days_the_ledger_already_has(db, tmp_path, monkeypatch):
    # given a day that already has a line, and an import written 2 lines at a time
    customer = CustomerFactory(external_ref="C1")
    ProductFactory(sku="P1")
    line(customer, "1.5", day=date(2024, 5, 1), cost=Decimal("1"))
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 2)
    rows = [["C1", f"2024-05-0{1 + k % 2}", "P1", f"{k}.0001", "1", f"INV{k}"] for k in range(5)]
    # when
    assert run_import(write_csv(tmp_path / "s.csv", rows)).lines_created == 5
    # then the old line and the five new ones are summed per day, and the triggers are back
    assert days() == {
        (customer.pk, date(2024, 5, 1)): (15_000 + 60_003, 10_000, 4, 4),  # 1.5 + 0.0001 + 2.0001 + 4.0001
        (customer.pk, date(2024, 5, 2)): (40_002, 0, 2, 2),  # 1.0001 + 3.0001
    }
    assert settlement_days_drift() == []
    test_every_trigger_is_still_on_the_ledger_after_all_migrations(db)
    line(customer, "1", day=date(2024, 5, 2))
    assert days()[(customer.pk, date(2024, 5, 2))] == (50_002, 0, 3, 3)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's bulk path")
def test_on_sqlite_the_insert_trigger_comes_back_even_when_the_caller_goes_on_after_an_error(db):
    customer = CustomerFactory()
    with transaction.atomic():
        with pytest.raises(RuntimeError), sqlite_days_added_per_batch():
            raise RuntimeError("the import failed")
        line(customer, "2")
    assert days() == {(customer.pk, D): (20_000, 0, 1, 1)}


def test_a_payment_and_its_refund_write_the_day_in_the_same_transaction(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0), (Decimal("50"), 2, 0)])
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("120.00"), actor=mgr_a)
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("-20.00"), actor=mgr_a)
    assert days() == {(deal.customer_id, TODAY()): (1_000_000, 0, 4, 2)}


def test_a_rolled_back_write_leaves_no_trace_in_the_day_table(db):
    customer = CustomerFactory()
    line(customer, "1")
    with pytest.raises(RuntimeError), transaction.atomic():
        line(customer, "1000")
        raise RuntimeError("the payment failed after its ledger lines")
    assert days() == {(customer.pk, D): (10_000, 0, 1, 1)}


def test_the_check_names_a_tampered_day_and_the_rebuild_repairs_it(db):
    customer = CustomerFactory()
    line(customer, "12.5")
    SettlementDay.objects.filter(customer=customer).update(amount=1)
    drift = settlement_days_drift()
    assert drift == [
        {"customer_id": customer.pk, "date": str(D), "in_table": (1, 0, 1, 1), "in_ledger": (125_000, 0, 1, 1)}
    ]
    with pytest.raises(CommandError, match="differs from the ledger"):
        call_command("check_settlement_days")
    call_command("check_settlement_days", "--rebuild")
    assert days() == {(customer.pk, D): (125_000, 0, 1, 1)}


def test_the_rebuild_recomputes_the_table_from_the_ledger_alone(db):
    customer = CustomerFactory()
    line(customer, "3")
    line(customer, "4", day=D - timedelta(days=1))
    SettlementDay.objects.all().delete()
    assert settlement_days_rebuild() == 2
    assert settlement_days_drift() == []


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_truncating_the_ledger_empties_the_day_table():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    line(CustomerFactory(), "1")
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {SettlementLine._meta.db_table}")
    assert days() == {}


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_concurrent_writers_to_one_day_both_count():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    customer = CustomerFactory()
    first_wrote, second_done = threading.Event(), threading.Event()

    def second_writer():
        try:
            first_wrote.wait(10)
            with transaction.atomic():  # waits on the first writer's row lock, then adds to its row
                line(customer, "2")
        finally:
            second_done.set()
            connections.close_all()

    thread = threading.Thread(target=second_writer)
    thread.start()
    with transaction.atomic():
        line(customer, "1")
        first_wrote.set()
        assert not second_done.wait(0.5), "the second writer should wait for this transaction"
    thread.join(10)
    assert days() == {(customer.pk, D): (30_000, 0, 2, 2)}
