"""The settlement import: all or nothing, every error named, idempotent, exact, scoped."""

import csv
import importlib
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import ManagementUtility
from django.db import connection
from django.db.models import Sum
from openpyxl import Workbook

from customers.models import Customer, Product, ProductLine, Segment
from sales_pipeline import settlement_import as parsing
from sales_pipeline.models import SettlementDay, SettlementImport, SettlementLine
from sales_pipeline.services import imports as services
from sales_pipeline.services import ledger
from sales_pipeline.tasks import import_settlements_task
from tests.factories import CustomerFactory, ProductFactory

HEADER = ["customer", "date", "product", "amount", "quantity", "document"]


def write_csv(path, rows, header=HEADER, *, encoding="utf-8", delimiter=","):
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_import(path, *, user=None, create_missing=False, dry_run=False, progress=None) -> SettlementImport:
    run = SettlementImport.objects.create(
        file_name=path.name, created_by=user, create_missing=create_missing, dry_run=dry_run
    )
    return services.settlement_import_run(run=run, path=path, user=user, progress=progress)


@pytest.fixture
def catalogue(db):
    """Two known customers (in the pool) and two known products."""
    CustomerFactory(external_ref="C1", manager=None)
    CustomerFactory(external_ref="C2", manager=None)
    ProductFactory(sku="P1")
    ProductFactory(sku="P2")


def good_rows(count=10):
    return [[f"C{1 + i % 2}", "2024-05-01", f"P{1 + i % 2}", "10.00", "1", f"INV{i}"] for i in range(count)]


def counts():
    return (
        SettlementLine.objects.count(),
        Customer.objects.count(),
        Customer.history.count(),
        Product.objects.count(),
        ProductLine.objects.count(),
    )


#
# All or nothing, every error named
#


def test_a_file_with_two_bad_rows_imports_nothing_and_names_both(catalogue, tmp_path):
    # given ten good rows, but line 7 has a comma decimal and line 9 an unknown product
    rows = good_rows(10)
    rows[5][3] = "12,50"  # file line 7: the header is line 1
    rows[7][2] = "NOPE"  # file line 9
    path = write_csv(tmp_path / "bad.csv", rows)
    before = counts()
    # when
    run = run_import(path)
    # then
    assert run.status == SettlementImport.Status.FAILED
    assert [(e["line"], e["column"]) for e in run.errors] == [(7, "amount"), (9, "product")]
    assert "12,50" in run.errors[0]["message"] and "NOPE" in run.errors[1]["message"]
    assert counts() == before


@pytest.mark.parametrize(
    "column,value,message",
    [
        ("customer", "", "a value is required"),
        ("customer", "X" * 65, "longer than 64 characters"),
        ("customer", "C9", "unknown customer reference"),
        ("date", "", "a value is required"),
        ("date", "01/05/2024", "not an ISO date"),
        ("date", "2024-02-30", "not an ISO date"),
        ("date", "2024-05-01T25:00", "not an ISO date"),
        ("product", "", "a value is required"),
        ("product", "P9", "unknown product SKU"),
        ("amount", "", "a value is required"),
        ("amount", "1e3", "not a decimal number"),
        ("amount", "12.34567", "more than 4 decimal places"),
        ("amount", "123456789012345", "too large"),
        ("quantity", "1.0005", "more than 3 decimal places"),
        ("quantity", "two", "not a decimal number"),
        ("cost", "abc", "not a decimal number"),
        ("manager", "nobody", "unknown user"),
        ("document", "D" * 65, "longer than 64 characters"),
    ],
)
def test_each_kind_of_bad_value_is_one_error_naming_line_and_column(catalogue, tmp_path, column, value, message):
    # given one good row and one row with the bad value
    header = [*HEADER, "cost", "manager"]
    rows = [["C1", "2024-05-01", "P1", "1", "1", "A", "", ""], ["C1", "2024-05-01", "P1", "1", "1", "B", "", ""]]
    rows[1][header.index(column)] = value
    path = write_csv(tmp_path / "one_bad.csv", rows, header)
    # when
    run = run_import(path)
    # then
    assert run.status == SettlementImport.Status.FAILED
    assert len(run.errors) == 1
    assert run.errors[0]["line"] == 3 and run.errors[0]["column"] == column
    assert message in run.errors[0]["message"]
    assert SettlementLine.objects.count() == 0


def test_a_missing_column_is_one_error_naming_it(catalogue, tmp_path):
    path = write_csv(tmp_path / "no_amount.csv", [["C1", "2024-05-01", "P1"]], ["customer", "date", "product"])
    run = run_import(path)
    assert run.errors == [{"line": 1, "column": "amount", "message": "this required column is missing"}]


def test_errors_are_capped_with_a_count_of_the_rest(catalogue, tmp_path):
    rows = [["C1", "2024-05-01", "P1", "oops", "1", str(i)] for i in range(parsing.MAX_ERRORS + 5)]
    run = run_import(write_csv(tmp_path / "many.csv", rows))
    assert len(run.errors) == parsing.MAX_ERRORS + 1
    assert run.errors[-1] == {"line": None, "column": None, "message": "and 5 more errors"}


def test_blank_lines_are_skipped_but_keep_the_line_numbers(catalogue, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("customer,date,product,amount\nC1,2024-05-01,P1,1\n\nC1,2024-05-01,P1,x\n")
    run = run_import(path)
    assert [(e["line"], e["column"]) for e in run.errors] == [(4, "amount")]


def test_a_nul_character_deep_in_a_file_is_an_error_on_its_line(catalogue, tmp_path):
    # given a file whose first 64 KB look like text, then a NUL inside a document number
    rows = [*good_rows(3000), ["C1", "2024-05-01", "P1", "1", "1", "INV\x00X"]]
    run = run_import(write_csv(tmp_path / "nul.csv", rows))
    assert [(e["line"], e["column"], e["message"]) for e in run.errors] == [
        (3002, "document", "contains a NUL character")
    ]


def test_a_crash_while_writing_leaves_nothing_behind(catalogue, tmp_path, monkeypatch):
    # given a valid file that creates a customer, and a database that fails half-way
    def fail_after_insert(lines, progress):
        real(lines, progress)
        raise RuntimeError("disk full")

    real = ledger._insert_postgresql if connection.vendor == "postgresql" else ledger._insert_sqlite
    monkeypatch.setattr(ledger, real.__name__, fail_after_insert)
    path = write_csv(tmp_path / "crash.csv", [*good_rows(4), ["NEW", "2024-05-01", "P1", "1", "1", "X"]])
    before = counts()
    # when
    run = run_import(path, create_missing=True)
    # then
    assert run.status == SettlementImport.Status.FAILED
    assert "nothing was imported" in run.errors[0]["message"]
    assert counts() == before
    # and the ledger's day table is kept as before (SQLite's import had dropped its trigger)
    SettlementLine.objects.create(customer=Customer.objects.get(external_ref="C1"), date=date(2024, 5, 1),
                                  amount=Decimal("2.5"), source_key="after-the-crash")  # fmt: skip
    assert list(SettlementDay.objects.values_list("amount", "lines")) == [(25_000, 1)]


#
# Creating what is missing
#


def test_without_create_missing_unknown_customers_and_products_are_errors(catalogue, tmp_path):
    run = run_import(write_csv(tmp_path / "new.csv", [["NEWC", "2024-05-01", "NEWP", "5", "1", "D1"]]))
    assert [(e["line"], e["column"]) for e in run.errors] == [(2, "customer"), (2, "product")]
    assert not Customer.objects.filter(external_ref="NEWC").exists()


def test_with_create_missing_customers_and_products_are_created_once(catalogue, tmp_path, mgr_a):
    # given unknown references, one of them on two lines, and a product line for the new product
    header = [*HEADER, "product_line"]
    rows = [
        ["NEWC", "2024-05-01", "NEWP", "5", "1", "D1", "Consumables"],
        ["NEWC", "2024-05-02", "P1", "7", "1", "D2", ""],
    ]
    path = write_csv(tmp_path / "new.csv", rows, header)
    # when
    run = run_import(path, create_missing=True)
    # then
    assert run.status == SettlementImport.Status.DONE
    assert (run.customers_created, run.products_created, run.lines_created) == (1, 1, 2)
    customer = Customer.objects.get(external_ref="NEWC")
    assert customer.manager is None  # the unassigned pool
    history = customer.history.get()
    assert history.history_type == "+" and f"#{run.pk}" in history.history_change_reason
    assert (history.name, history.external_ref, history.history_user) == ("NEWC", "NEWC", None)
    product = Product.objects.get(sku="NEWP")
    assert product.line.name == "Consumables"
    assert set(SettlementLine.objects.values_list("customer__external_ref", flat=True)) == {"NEWC"}


def test_created_customers_get_their_segment_and_a_name_for_duplicate_checks(catalogue, tmp_path, mgr_a):
    # given a segment every company falls in (a created customer is a company), and one
    # that needs a city
    Segment.objects.create(name="Retail in Leeds", priority=1).rules.create(field="city", value="Leeds")
    companies = Segment.objects.create(name="Companies", priority=2)
    companies.rules.create(field="kind", value=Customer.Kind.COMPANY)
    # when a file with two unknown customers is imported by a manager
    rows = [["The Acme Ltd", "2024-05-01", "P1", "5", "1", "D1"], ["NEW2", "2024-05-01", "P1", "5", "1", "D2"]]
    run = run_import(write_csv(tmp_path / "new.csv", rows), create_missing=True, user=mgr_a)
    # then both are in the first segment whose rules hold, named for the duplicate check,
    # and their history says who created them
    assert run.customers_created == 2
    acme = Customer.objects.get(external_ref="The Acme Ltd")
    assert (acme.segment, acme.normalized_name) == (companies, "acme")
    assert Customer.objects.get(external_ref="NEW2").segment == companies
    assert set(Customer.history.filter(external_ref__in=["The Acme Ltd", "NEW2"]).values_list(
        "history_type", "history_user")) == {("+", mgr_a.pk)}  # fmt: skip


def test_a_dry_run_counts_and_writes_nothing(catalogue, tmp_path):
    path = write_csv(tmp_path / "dry.csv", [*good_rows(3), ["NEWC", "2024-05-01", "NEWP", "5", "1", "D1"]])
    before = counts()
    run = run_import(path, create_missing=True, dry_run=True)
    assert run.status == SettlementImport.Status.DONE
    assert (run.lines_created, run.lines_skipped, run.customers_created, run.products_created) == (4, 0, 1, 1)
    assert counts() == before


#
# Idempotency
#


def test_importing_the_same_file_twice_does_not_double_the_ledger(catalogue, tmp_path):
    path = write_csv(tmp_path / "twice.csv", good_rows(10))
    first = run_import(path)
    second = run_import(path)
    assert (first.lines_created, first.lines_skipped) == (10, 0)
    assert (second.lines_created, second.lines_skipped) == (0, 10)
    assert SettlementLine.objects.count() == 10


def test_a_dry_run_after_an_import_reports_every_line_as_skipped(catalogue, tmp_path):
    path = write_csv(tmp_path / "again.csv", good_rows(5))
    run_import(path)
    run = run_import(path, dry_run=True)
    assert (run.lines_created, run.lines_skipped) == (0, 5)


def test_identical_lines_in_one_file_are_both_kept(catalogue, tmp_path):
    # given the same product twice on one invoice
    row = ["C1", "2024-05-01", "P1", "3.50", "1", "INV1"]
    path = write_csv(tmp_path / "same.csv", [row, row])
    # when imported, and imported again
    first = run_import(path)
    second = run_import(path)
    # then both lines are in the ledger, once each
    assert first.lines_created == 2 and second.lines_skipped == 2
    keys = list(SettlementLine.objects.values_list("source_key", flat=True))
    assert len(set(keys)) == 2
    for key in keys:  # the line's date, then hex digits of its hash: 64 characters
        day, digest = key.split(":")
        assert day == "2024-05-01" and len(key) == 64 and int(digest, 16) >= 0


def test_keys_lead_with_the_business_date_and_sort_like_it(catalogue, tmp_path):
    # given lines on three days, the file not in date order, one a date-time with an offset
    rows = [
        ["C1", "2024-05-03", "P1", "1", "1", "A"],
        ["C1", "2024-05-01T23:30:00+00:00", "P1", "1", "1", "B"],  # 2024-05-02 00:30 in London
        ["C2", "2024-04-30", "P2", "1", "1", "C"],
    ]
    run_import(write_csv(tmp_path / "days.csv", rows))
    lines = list(SettlementLine.objects.order_by("source_key").values_list("date", "source_key"))
    assert [day for day, _ in lines] == [date(2024, 4, 30), date(2024, 5, 2), date(2024, 5, 3)]
    assert all(key.startswith(f"{day.isoformat()}:") for day, key in lines)


def test_the_same_line_in_another_file_is_recognised(catalogue, tmp_path):
    run_import(write_csv(tmp_path / "a.csv", good_rows(3)))
    run = run_import(write_csv(tmp_path / "b.csv", [*good_rows(3), ["C1", "2024-06-01", "P1", "1", "1", "NEW"]]))
    assert (run.lines_created, run.lines_skipped) == (1, 3)


#
# Values: money, dates, returns
#


def test_decimals_are_exact(catalogue, tmp_path):
    rows = [["C1", "2024-05-01", "P1", "0.1", "1", "A"], ["C1", "2024-05-01", "P1", "0.2", "1", "B"]]
    rows.append(["C2", "2024-05-01", "P2", "1234567890.1234", "0.125", "C"])
    run_import(write_csv(tmp_path / "money.csv", rows))
    assert SettlementLine.objects.filter(customer__external_ref="C1").aggregate(s=Sum("amount"))["s"] == Decimal("0.3")
    line = SettlementLine.objects.get(document="C")
    assert (line.amount, line.quantity) == (Decimal("1234567890.1234"), Decimal("0.125"))


def test_a_return_is_a_negative_line(catalogue, tmp_path):
    rows = [["C1", "2024-05-01", "P1", "100", "2", "INV1"], ["C1", "2024-05-03", "P1", "-50.00", "-1", "CR1"]]
    run_import(write_csv(tmp_path / "return.csv", rows))
    credit = SettlementLine.objects.get(document="CR1")
    assert (credit.amount, credit.quantity) == (Decimal("-50"), Decimal("-1"))
    assert SettlementLine.objects.aggregate(s=Sum("amount"))["s"] == Decimal("50")


def test_optional_columns_default_sensibly(catalogue, tmp_path, mgr_a):
    header = ["customer", "date", "product", "amount", "cost", "manager"]
    rows = [["C1", "2024-05-01", "P1", "10", "", ""], ["C1", "2024-05-02", "P1", "10", "6.5", "mgr_a"]]
    run_import(write_csv(tmp_path / "optional.csv", rows, header))
    plain, full = SettlementLine.objects.order_by("date")
    assert (plain.quantity, plain.cost, plain.manager, plain.document) == (Decimal("1"), None, None, "")
    assert (full.cost, full.manager) == (Decimal("6.5"), mgr_a)


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024-06-30", date(2024, 6, 30)),
        ("2024-06-30T23:30:00", date(2024, 6, 30)),  # no offset: its own date
        ("2024-06-30 23:30", date(2024, 6, 30)),
        ("2024-06-30T23:30:00-05:00", date(2024, 7, 1)),  # 05:30 in London the next day
        ("2024-03-31T00:30:00+02:00", date(2024, 3, 30)),  # 23:30 in London the day before
        ("2024-12-31T23:59:59Z", date(2024, 12, 31)),  # London is UTC in winter
        ("2024-07-01T00:30:00.123+0100", date(2024, 7, 1)),
    ],
)
def test_a_date_time_keeps_its_business_date(catalogue, tmp_path, settings, value, expected):
    settings.TIME_ZONE = "Europe/London"
    run_import(write_csv(tmp_path / "dates.csv", [["C1", value, "P1", "1", "1", "A"]]))
    assert SettlementLine.objects.get().date == expected


#
# File formats
#


def test_an_xlsx_file_imports_like_a_csv(catalogue, tmp_path):
    # given a workbook with typed cells: numbers, a date-time, a formula without a cached value
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Customer", "Date", "Product", "Amount", "Quantity", "Document"])
    sheet.append(["C1", datetime(2024, 5, 1, 14, 0), "P1", 0.1, 2, "X1"])
    sheet.append(["C1", "2024-05-02", "P1", 0.2, 1.5, 1001])
    sheet.append([])
    sheet.append(["C2", "2024-05-03", "P2", 19.99, 1, "X3"])
    path = tmp_path / "lines.xlsx"
    workbook.save(path)
    # when
    run = run_import(path)
    # then
    assert run.status == SettlementImport.Status.DONE, run.errors
    assert run.lines_created == 3
    assert SettlementLine.objects.filter(customer__external_ref="C1").aggregate(s=Sum("amount"))["s"] == Decimal("0.3")
    assert SettlementLine.objects.get(document="1001").quantity == Decimal("1.5")
    assert SettlementLine.objects.get(document="X1").date == date(2024, 5, 1)


def test_an_xlsx_error_names_the_sheet_row(catalogue, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["customer", "date", "product", "amount"])
    sheet.append(["C1", "2024-05-01", "P1", 1])
    sheet.append(["C1", "2024-05-01", "P1", "lots"])
    workbook.save(tmp_path / "bad.xlsx")
    run = run_import(tmp_path / "bad.xlsx")
    assert [(e["line"], e["column"]) for e in run.errors] == [(3, "amount")]


def test_an_xlsx_that_unpacks_too_big_is_refused_before_parsing(catalogue, tmp_path, monkeypatch):
    workbook = Workbook()
    workbook.active.append(["customer", "date", "product", "amount"])
    workbook.save(tmp_path / "bomb.xlsx")
    monkeypatch.setattr(parsing, "XLSX_MAX_UNCOMPRESSED", 1_000)
    run = run_import(tmp_path / "bomb.xlsx")
    assert run.status == SettlementImport.Status.FAILED
    assert "unpacks to" in run.errors[0]["message"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file"),
        ("latin1.csv", "customer,date,product,amount\nCafé,2024-05-01,P1,1\n".encode("cp1252"), "not UTF-8"),
        ("sheet.xlsx", b"customer,date\n", "not an XLSX file"),
        ("notes.txt", b"customer,date\n", "Only .csv and .xlsx"),
        ("empty.csv", b"", "empty"),
        ("ragged.csv", b"customer,date,product,amount\nC1,2024-05-01,P1,1,extra,more\n", "cannot be read"),
    ],
)
def test_a_file_that_cannot_be_read_fails_with_a_clear_message(catalogue, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    run = run_import(path)
    assert run.status == SettlementImport.Status.FAILED
    assert message in run.errors[0]["message"]
    assert run.errors[0]["line"] is None


def test_a_semicolon_csv_with_a_bom_is_read(catalogue, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffcustomer;date;product;amount\nC1;2024-05-01;P1;1.5\n".encode())
    run = run_import(path)
    assert run.status == SettlementImport.Status.DONE, run.errors
    assert SettlementLine.objects.get().amount == Decimal("1.5")


#
# Scope
#


def test_a_manager_cannot_import_lines_for_another_managers_customer(mgr_a, mgr_b, tmp_path):
    # given mgr_a's customer and a product
    CustomerFactory(external_ref="A1", manager=mgr_a)
    CustomerFactory(external_ref="B1", manager=mgr_b)
    ProductFactory(sku="P1")
    rows = [["B1", "2024-05-01", "P1", "1", "1", "OK"], ["A1", "2024-05-01", "P1", "1", "1", "TAKEOVER"]]
    before = counts()
    # when mgr_b imports a line for it
    run = run_import(write_csv(tmp_path / "scope.csv", rows), user=mgr_b)
    # then that row is refused and nothing at all is written
    assert [(e["line"], e["column"]) for e in run.errors] == [(3, "customer")]
    assert "not permitted" in run.errors[0]["message"]
    assert counts() == before


def test_a_director_imports_for_the_customers_of_their_teams(mgr_a, mgr_c, dir_1, tmp_path):
    CustomerFactory(external_ref="A1", manager=mgr_a)
    CustomerFactory(external_ref="C1", manager=mgr_c)
    ProductFactory(sku="P1")
    ok = run_import(write_csv(tmp_path / "t1.csv", [["A1", "2024-05-01", "P1", "1", "1", "X"]]), user=dir_1)
    refused = run_import(write_csv(tmp_path / "t2.csv", [["C1", "2024-05-01", "P1", "1", "1", "X"]]), user=dir_1)
    assert ok.status == SettlementImport.Status.DONE
    assert "not permitted" in refused.errors[0]["message"]


def test_the_system_may_import_for_any_customer(mgr_a, tmp_path):
    CustomerFactory(external_ref="A1", manager=mgr_a)
    ProductFactory(sku="P1")
    run = run_import(write_csv(tmp_path / "system.csv", [["A1", "2024-05-01", "P1", "1", "1", "X"]]), user=None)
    assert run.status == SettlementImport.Status.DONE


#
# Progress, task and command
#


def test_progress_is_reported_per_phase_and_readable_while_running(catalogue, tmp_path, monkeypatch):
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 4)
    seen, live_views = [], []

    def progress(done, total, phase):
        seen.append((phase, done, total))
        if phase == "writing" and done:
            # another request reads the run while the import transaction is open
            live = services.settlement_import_live(SettlementImport.objects.get(pk=run.pk))
            live_views.append((live.status, live.rows_done, live.rows_total, live.phase))

    run = SettlementImport.objects.create(file_name="p.csv")
    services.settlement_import_run(run=run, path=write_csv(tmp_path / "p.csv", good_rows(10)), progress=progress)
    writing = [(done, total) for phase, done, total in seen if phase == "writing"]
    assert writing == [(0, 10), (4, 10), (8, 10), (10, 10)]
    assert ("running", 4, 10, "writing") in live_views
    assert [phase for phase, _, _ in seen][0] == "checking"
    assert cache.get(services.progress_cache_key(run.pk)) is None  # cleared once finished


def test_the_task_imports_as_the_uploader_and_ignores_a_redelivery(catalogue, tmp_path, dir_1, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "imports").mkdir()
    write_csv(tmp_path / "imports" / "t.csv", good_rows(2))
    run = SettlementImport.objects.create(file_name="t.csv", file="imports/t.csv", created_by=dir_1)
    assert import_settlements_task(run.pk) == f"settlement import {run.pk} done: 2 lines created, 0 skipped, 0 errors"
    assert import_settlements_task(run.pk) == f"settlement import {run.pk} already done"
    assert SettlementLine.objects.count() == 2
    # the uploaded file is gone once the run has ended; the run keeps what it did
    run.refresh_from_db()
    assert not (tmp_path / "imports" / "t.csv").exists() and not run.file and run.lines_created == 2


def test_the_task_removes_the_upload_of_a_failed_run_too(catalogue, tmp_path, dir_1, settings):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "imports").mkdir()
    write_csv(tmp_path / "imports" / "bad.csv", [["C1", "not a date", "P1", "1", "1", "X"]])
    run = SettlementImport.objects.create(file_name="bad.csv", file="imports/bad.csv", created_by=dir_1)
    assert import_settlements_task(run.pk).endswith("failed: 0 lines created, 0 skipped, 1 errors")
    run.refresh_from_db()
    assert not (tmp_path / "imports" / "bad.csv").exists() and run.errors[0]["column"] == "date"


@pytest.fixture
def manage(monkeypatch):
    """Runs a command as `manage.py` does (exit code included), except that it keeps the
    test's database connection open: run_from_argv closes every connection at the end."""
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)
    return lambda *argv: ManagementUtility(["manage.py", *argv]).execute()


def test_the_command_prints_every_error_and_exits_non_zero(catalogue, tmp_path, capsys, manage):
    rows = good_rows(10)
    rows[5][3] = "12,50"
    rows[7][2] = "NOPE"
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(SystemExit) as exit_info:
        manage("import_settlements", str(path))
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert 'line 7, column amount: not a decimal number (digits and a point, e.g. 1234.50): "12,50"' in err
    assert 'line 9, column product: unknown product SKU "NOPE"' in err
    assert SettlementLine.objects.count() == 0


def test_the_command_imports_and_summarises(db, tmp_path, capsys, manage):
    path = write_csv(tmp_path / "new.csv", [["NEWC", "2024-05-01", "NEWP", "-5", "1", "D1"]])
    manage("import_settlements", str(path), "--create-missing")
    out = capsys.readouterr()
    assert "1 lines created, 0 skipped" in out.out and "1 customers and 1 products created" in out.out
    assert "Writing 1 lines" in out.err
    manage("import_settlements", str(path), "--dry-run")
    assert "0 lines would be created, 1 skipped" in capsys.readouterr().out


def test_the_command_refuses_a_missing_file(db, capsys, manage):
    with pytest.raises(SystemExit):
        manage("import_settlements", "/no/such/file.csv")
    assert "No such file" in capsys.readouterr().err


#
# The parser's limits follow the models
#


def test_the_length_limits_match_the_models():
    fields = {
        "customer": Customer._meta.get_field("external_ref"),
        "product": Product._meta.get_field("sku"),
        "document": SettlementLine._meta.get_field("document"),
        "product_line": ProductLine._meta.get_field("name"),
    }
    assert {name: field.max_length for name, field in fields.items()} == {
        name: parsing.MAX_LENGTHS[name] for name in fields
    }
    amount, quantity = SettlementLine._meta.get_field("amount"), SettlementLine._meta.get_field("quantity")
    assert parsing.DECIMALS["amount"] == (amount.decimal_places, amount.max_digits - amount.decimal_places)
    assert parsing.DECIMALS["quantity"] == (quantity.decimal_places, quantity.max_digits - quantity.decimal_places)


def test_a_ledger_keyed_before_the_date_led_keys_still_recognises_its_files(catalogue, tmp_path, monkeypatch):
    # given a file imported with the earlier keys: the whole sha256, no date
    path = write_csv(tmp_path / "old.csv", good_rows(4))
    with monkeypatch.context() as patched:
        patched.setattr(parsing, "_keys_of", lambda days, digests: digests)
        run_import(path)
    assert all(len(key) == 64 and ":" not in key for key in SettlementLine.objects.values_list("source_key", flat=True))
    payment = SettlementLine.objects.create(
        customer=Customer.objects.get(external_ref="C1"), date=date(2024, 5, 9), amount=1, source_key="payment:1:1"
    )
    # when migration 0006 rekeys the ledger
    migration = importlib.import_module("sales_pipeline.migrations.0006_import_keys_by_date")
    migration.rekey(None, _SchemaEditor())
    # then importing the same file again adds nothing, and other keys are untouched
    again = run_import(path)
    assert (again.lines_created, again.lines_skipped) == (0, 4)
    assert SettlementLine.objects.get(pk=payment.pk).source_key == "payment:1:1"
    assert SettlementLine.objects.count() == 5


class _SchemaEditor:
    """What a migration's RunPython uses of its schema editor, inside the test's transaction."""

    connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_chunks_on_new_days_and_on_days_with_lines_count_exactly(catalogue, tmp_path, monkeypatch):
    # On PostgreSQL a chunk whose days hold no line yet is a plain INSERT, the others
    # ON CONFLICT DO NOTHING: chunks of two lines here mix both within one file.
    from sales_pipeline.services import ledger

    monkeypatch.setattr(ledger, "CHUNK_ROWS", 2)
    old = [["C1", "2024-05-01", "P1", "1", "1", f"OLD{i}"] for i in range(3)]
    run_import(write_csv(tmp_path / "old.csv", old))
    new = [["C2", f"2024-07-{day:02d}", "P2", "2", "1", f"NEW{day}"] for day in range(1, 6)]
    run = run_import(write_csv(tmp_path / "mixed.csv", [*old, *new]))
    assert (run.status, run.lines_created, run.lines_skipped) == ("done", 5, 3)
    assert SettlementLine.objects.count() == 8
    assert ledger.stage_seconds["lines INSERT"] > 0  # the stages the import logs


def test_chunks_starting_on_the_previous_chunks_day_are_copied_straight_in_exactly(catalogue, tmp_path, monkeypatch):
    # A chunk mostly starts on the day the previous one ended: those lines are this
    # import's own, whose keys all differ, so the chunk cannot collide and is COPYed
    # straight into the ledger on PostgreSQL (no staging, no ON CONFLICT), in exact decimals.
    monkeypatch.setattr(ledger, "CHUNK_ROWS", 2)
    header = ["customer", "date", "product", "amount", "quantity", "cost", "document"]
    rows = [
        ["C1", "2024-05-01", "P1", "1.2345", "0.5", "0.0001", "D1"],
        ["C1", "2024-05-01", "P1", "-1234567890.1234", "-1", "", "D2"],
        ["C2", "2024-05-01", "P2", "0", "123456789.123", "-7.5", "D3"],
        ["C2", "2024-05-01", "P2", "10", "", "3", ""],
        ["C2", "2024-05-02", "P2", "0.01", "2", "", "D5"],
    ]
    run = run_import(write_csv(tmp_path / "one_day.csv", rows, header=header))
    assert (run.status, run.lines_created, run.lines_skipped) == ("done", 5, 0), run.errors
    assert sorted(SettlementLine.objects.values_list("document", "amount", "quantity", "cost")) == [
        ("", Decimal("10.0000"), Decimal("1.000"), Decimal("3.0000")),
        ("D1", Decimal("1.2345"), Decimal("0.500"), Decimal("0.0001")),
        ("D2", Decimal("-1234567890.1234"), Decimal("-1.000"), None),
        ("D3", Decimal("0.0000"), Decimal("123456789.123"), Decimal("-7.5000")),
        ("D5", Decimal("0.0100"), Decimal("2.000"), None),
    ]
    if connection.vendor == "postgresql":
        assert ledger.stage_seconds["lines COPY"] > 0 and "stage COPY" not in ledger.stage_seconds
    # and the same file again still adds nothing (those chunks take the ON CONFLICT path)
    again = run_import(write_csv(tmp_path / "again.csv", rows, header=header))
    assert (again.lines_created, again.lines_skipped) == (0, 5)
    assert SettlementDay.objects.aggregate(lines=Sum("lines"))["lines"] == 5
