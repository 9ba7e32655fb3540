"""The data the KPIs need (issue 12): the customer import's `created` column, and
imported settlement lines without a manager credited to the customer's manager."""

from datetime import date

from django.utils import timezone

from customers.models import Customer
from sales_pipeline.models import SettlementLine
from tests.customers.test_customer_import import csv_bytes, errors_of, row, run
from tests.factories import CustomerFactory, ProductFactory
from tests.sales_pipeline.test_settlement_import import run_import, write_csv


def test_the_customer_import_takes_the_date_of_first_contact(db):
    result = run(csv_bytes([row(external_ref="R1", name="Old Firm", created="2019-03-04"), row(name="New Firm")]))
    assert result.ok, result.errors
    old, new = Customer.objects.get(name="Old Firm"), Customer.objects.get(name="New Firm")
    assert timezone.localdate(old.created_at) == date(2019, 3, 4)
    assert timezone.localdate(new.created_at) == timezone.localdate()  # default: now


def test_a_created_date_can_be_corrected_by_importing_again(db):
    run(csv_bytes([row(external_ref="R1", name="Firm", created="2019-03-04")]))
    result = run(csv_bytes([row(external_ref="R1", name="Firm", created="2018-01-02")]))
    assert (result.ok, result.updated) == (True, 1)
    assert timezone.localdate(Customer.objects.get().created_at) == date(2018, 1, 2)
    again = run(csv_bytes([row(external_ref="R1", name="Firm", created="2018-01-02")]))
    assert (again.updated, again.unchanged) == (0, 1)


def test_a_bad_or_future_created_date_is_an_error_on_its_cell(db):
    result = run(csv_bytes([row(name="A", created="04/03/2019"), row(name="B", created="2999-01-01")]))
    assert errors_of(result) == [(2, "created"), (3, "created")]
    assert not Customer.objects.exists()


def test_imported_lines_without_a_manager_get_the_customers_manager(tmp_path, mgr_a, mgr_b):
    CustomerFactory(external_ref="MINE", manager=mgr_a)
    CustomerFactory(external_ref="POOL", manager=None)
    ProductFactory(sku="P1")
    header = ["customer", "date", "product", "amount", "manager"]
    rows = [
        ["MINE", "2024-05-01", "P1", "10", ""],  # -> mgr_a, the customer's manager
        ["MINE", "2024-05-02", "P1", "10", "mgr_b"],  # named on the line: kept
        ["POOL", "2024-05-03", "P1", "10", ""],  # the pool: no manager
    ]
    assert run_import(write_csv(tmp_path / "lines.csv", rows, header)).status == "done"
    managers = list(SettlementLine.objects.order_by("date").values_list("manager__username", flat=True))
    assert managers == ["mgr_a", "mgr_b", None]
