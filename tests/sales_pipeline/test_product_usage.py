"""Issue 11, items 6 and 7: settlements feed product status (a purchase means "in use",
set-based, in the writing transaction), and payments write the line's cost from the
product's standard cost."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from customers import portrait
from customers.models import Customer, CustomerProduct, PortraitEntry, Product, Segment, SegmentRule
from sales_pipeline.models import SettlementLine, Stage
from sales_pipeline.product_usage import product_usage_mark, product_usage_mark_new_customers
from sales_pipeline.services import deals as deal_services
from tests.factories import CustomerFactory, ProductFactory, SettlementLineFactory
from tests.sales_pipeline.test_pipeline import advance, open_deal
from tests.sales_pipeline.test_settlement_import import run_import, write_csv


@pytest.fixture
def makers(db):
    """A segment targeting P1, P2, P3, P4; two customers of it."""
    segment = Segment.objects.create(name="Makers", priority=1)
    SegmentRule.objects.create(segment=segment, field="industry", operator="eq", value="Manufacturing")
    products = [ProductFactory(sku=f"P{i}", name=f"Product {i}") for i in range(1, 5)]
    for product in products:
        PortraitEntry.objects.create(segment=segment, product=product)
    c1 = CustomerFactory(external_ref="C1", industry="Manufacturing")
    c2 = CustomerFactory(external_ref="C2", industry="Manufacturing")
    return c1, c2, products


def status_of(customer, product):
    record = CustomerProduct.objects.filter(customer=customer, product=product).first()
    return (record.status, record.status_date, record.refusal_reason) if record else None


def test_an_imported_settlement_file_marks_its_products_in_use_from_the_first_positive_line(makers, tmp_path):
    c1, c2, (p1, p2, p3, p4) = makers
    # given C1 refused P2 last year, had a contract for P3, and has used P4 since 2023
    CustomerProduct.objects.create(customer=c1, product=p2, status="refused", status_date=date(2024, 1, 10),
                                   refusal_reason="Too dear")  # fmt: skip
    CustomerProduct.objects.create(customer=c1, product=p3, status="contract", status_date=date(2024, 2, 1))
    CustomerProduct.objects.create(customer=c1, product=p4, status="in_use", status_date=date(2023, 6, 1))
    rows = [
        ["C1", "2024-03-05", "P1", "10.00", "1", "INV1"],
        ["C1", "2024-02-01", "P1", "-4.00", "1", "RET1"],  # a return before: not a purchase
        ["C1", "2024-04-20", "P1", "7.00", "1", "INV2"],
        ["C1", "2024-05-02", "P2", "3.00", "1", "INV3"],
        ["C1", "2024-05-03", "P3", "3.00", "1", "INV4"],
        ["C1", "2022-01-01", "P4", "3.00", "1", "INV5"],  # earlier than its in-use date
        ["C2", "2024-06-01", "P1", "-5.00", "1", "RET2"],  # only a return: nothing
    ]
    # when the file is imported
    run = run_import(write_csv(tmp_path / "history.csv", rows))
    assert run.status == "done", run.errors
    # then a purchase means in use, dated by the first positive line; in use stays as it was
    assert status_of(c1, p1) == ("in_use", date(2024, 3, 5), "")
    assert status_of(c1, p2) == ("in_use", date(2024, 5, 2), "")
    assert status_of(c1, p3) == ("in_use", date(2024, 5, 3), "")
    assert status_of(c1, p4) == ("in_use", date(2023, 6, 1), "")
    assert status_of(c2, p1) is None
    # with history rows (who and why), and maturity and what to offer next follow
    record = CustomerProduct.objects.get(customer=c1, product=p2)
    assert [h.status for h in record.history.order_by("history_date", "history_id")] == ["refused", "in_use"]
    assert record.history.first().history_change_reason == f"Settlement import #{run.pk}"
    row = portrait.with_maturity(Customer.objects.filter(pk=c1.pk)).get()
    assert (row.in_use_count, row.target_count) == (4, 4)
    assert portrait.offer_next_for([c1.pk, c2.pk], today=date(2024, 7, 1)) == {c1.pk: [], c2.pk: [p1, p2, p3, p4]}
    # and importing the same file again changes nothing
    history = CustomerProduct.history.count()
    assert run_import(write_csv(tmp_path / "again.csv", rows)).lines_created == 0
    assert CustomerProduct.history.count() == history


def test_a_failed_import_marks_no_product(makers, tmp_path):
    c1, _, (p1, *_) = makers
    run = run_import(write_csv(tmp_path / "bad.csv", [["C1", "2024-03-05", "P1", "10.00", "1", "I"],
                                                       ["C1", "2024-03-05", "NOPE", "1", "1", "J"]]))  # fmt: skip
    assert run.status == "failed"
    assert status_of(c1, p1) is None


@pytest.mark.parametrize("pairs", [5, 60])
def test_marking_products_in_use_takes_the_same_queries_for_any_number_of_pairs(pairs, db):
    customers = CustomerFactory.create_batch(pairs)
    product = ProductFactory()
    for customer in customers:
        SettlementLineFactory(customer=customer, product=product, date=date(2024, 1, 2), amount=Decimal("5"))
    CustomerProduct.objects.create(customer=customers[0], product=product, status="offered")
    with CaptureQueriesContext(connection) as queries:
        changed = product_usage_mark(pairs=[(c.pk, product.pk) for c in customers])
    assert changed == pairs
    # savepoint and release; drop, create, fill (COPY and ANALYZE on PostgreSQL; one INSERT
    # per 300 pairs on SQLite), prune and drop the batch table; drop, create and drop the
    # first days' table; update, insert ... select; two history copies
    assert len(queries) == (15 if connection.vendor == "postgresql" else 14)


def test_first_days_given_by_the_caller_date_the_statuses_as_the_ledger_would(db):
    # An import passes the first days of its customers without earlier lines; the others
    # come from the ledger. Either way the status date is the first positive line's.
    fresh, known = CustomerFactory(), CustomerFactory()
    product = ProductFactory()
    for customer, day in ((fresh, date(2024, 3, 5)), (known, date(2023, 1, 9)), (known, date(2024, 3, 1))):
        SettlementLineFactory(customer=customer, product=product, date=day, amount=Decimal("5"))
    given = pd.DataFrame({"customer_id": [fresh.pk], "product_id": [product.pk], "first_day": ["2024-03-05"]})
    assert product_usage_mark(pairs=[(fresh.pk, product.pk), (known.pk, product.pk)], first_days=given) == 2
    assert status_of(fresh, product)[:2] == ("in_use", date(2024, 3, 5))
    assert status_of(known, product)[:2] == ("in_use", date(2023, 1, 9))


def test_a_payment_marks_the_deals_products_in_use_in_its_transaction(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a)
    product = deal.lines.get().product
    assert status_of(deal.customer, product)[0] == "contract"
    deal_services.payment_record(deal=deal, date=date(2026, 11, 2), amount=Decimal("10.00"), actor=mgr_a)
    assert status_of(deal.customer, product) == ("in_use", date(2026, 11, 2), "")
    assert CustomerProduct.objects.get(customer=deal.customer).history.first().history_user == mgr_a


def test_a_refund_does_not_mark_a_product_in_use(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a)
    product = deal.lines.get().product
    deal_services.payment_record(deal=deal, date=date(2026, 11, 2), amount=Decimal("10.00"), actor=mgr_a)
    CustomerProduct.objects.filter(customer=deal.customer).update(status="offered")
    deal_services.payment_record(deal=deal, date=date(2026, 11, 3), amount=Decimal("-10.00"), actor=mgr_a)
    assert status_of(deal.customer, product)[0] == "offered"


#
# Item 7: the line's cost from the product's standard cost
#


def test_a_payment_writes_the_lines_cost_from_the_products_standard_cost(mgr_a):
    deal = advance(open_deal(mgr_a, lines=[(Decimal("100"), 2, 0), (Decimal("50"), 1, 0)]), Stage.PAYMENT, mgr_a)
    costed, plain = [line.product for line in deal.lines.order_by("pk")]
    costed.standard_cost = Decimal("30.1234")
    costed.save()
    payment = deal_services.payment_record(deal=deal, date=date(2026, 11, 2), amount=Decimal("125.00"), actor=mgr_a)
    rows = SettlementLine.objects.filter(source_key__startswith=f"payment:{payment.pk}:").order_by("pk")
    # 125 of 250 paid: half of each line, so 1 unit of the first (cost 30.1234) and 0.5 of the second (no cost)
    assert [(r.quantity, r.amount, r.cost) for r in rows] == [
        (Decimal("1.000"), Decimal("100.00"), Decimal("30.1234")),
        (Decimal("0.500"), Decimal("25.00"), None),
    ]
    refund = deal_services.payment_record(deal=deal, date=date(2026, 11, 3), amount=Decimal("-50.00"), actor=mgr_a)
    first = SettlementLine.objects.filter(source_key__startswith=f"payment:{refund.pk}:").order_by("pk").first()
    assert (first.quantity, first.cost) == (Decimal("-0.400"), Decimal("-12.0494"))


#
# Issue 15: the statuses of an import's new customers take a short path
#


def statuses_and_history():
    """Every status by (customer ref, sku), and every history row of statuses, without
    the ids and times that differ between two writes of the same rows."""
    statuses = {
        (s.customer.external_ref, s.product.sku): (s.status, s.status_date, s.refusal_reason)
        for s in CustomerProduct.objects.select_related("customer", "product")
    }
    refs = dict(Customer.objects.values_list("pk", "external_ref"))
    skus = dict(Product.objects.values_list("pk", "sku"))
    ids = dict(CustomerProduct.objects.values_list("pk", "customer_id"))
    history = sorted(
        (refs[h.customer_id], skus[h.product_id], h.status, h.status_date, h.refusal_reason, h.history_type,
         h.history_change_reason, h.history_user_id, refs[ids[h.id]])
        for h in CustomerProduct.history.all()
    )  # fmt: skip
    return statuses, history


def test_an_import_creating_customers_marks_their_products_as_the_ledger_path_does(makers, tmp_path):
    c1, _, (p1, p2, *_) = makers
    CustomerProduct.objects.create(customer=c1, product=p2, status="offered", status_date=date(2024, 1, 10))
    rows = [
        ["N1", "2024-03-05", "P1", "10.00", "1", "INV1"],
        ["N1", "2024-02-01", "P1", "-4.00", "1", "RET1"],  # a return first: not a purchase
        ["N1", "2024-04-20", "P1", "7.00", "1", "INV2"],
        ["N1", "2024-04-20", "NEW", "7.00", "1", "INV2"],  # a new product too
        ["N2", "2024-06-01", "P2", "-5.00", "1", "RET2"],  # only a return: nothing
        ["N2", "2024-06-02", "P3", "5.00", "1", "INV3"],
        ["N2", "2024-06-01", "P3", "6.00", "1", "INV4"],
        ["C1", "2024-05-02", "P2", "3.00", "1", "INV5"],  # a known customer's offered product
        ["C1", "2024-05-03", "P1", "3.00", "1", "INV6"],
    ]
    run = run_import(write_csv(tmp_path / "new.csv", rows), create_missing=True)
    assert run.status == "done", run.errors
    assert run.customers_created == 2
    imported = statuses_and_history()
    assert imported[0] == {
        ("N1", "P1"): ("in_use", date(2024, 3, 5), ""),
        ("N1", "NEW"): ("in_use", date(2024, 4, 20), ""),
        ("N2", "P3"): ("in_use", date(2024, 6, 1), ""),
        ("C1", "P2"): ("in_use", date(2024, 5, 2), ""),
        ("C1", "P1"): ("in_use", date(2024, 5, 3), ""),
    }
    # The same ledger marked again from scratch by the general path (the ledger's first
    # positive days, statuses probed one by one) gives the very same statuses and history.
    CustomerProduct.history.all().delete()
    CustomerProduct.objects.all().delete()
    CustomerProduct.objects.create(customer=c1, product=p2, status="offered", status_date=date(2024, 1, 10))
    CustomerProduct.history.all().delete()  # as if created before (the import's history only)
    imported_history = [row for row in imported[1] if not (row[:2] == ("C1", "P2") and row[5] == "+")]
    pairs = SettlementLine.objects.filter(amount__gt=0).values_list("customer_id", "product_id").distinct()
    assert product_usage_mark(pairs=list(pairs), reason=f"Settlement import #{run.pk}") == 5
    assert statuses_and_history() == (imported[0], imported_history)


def test_a_failure_after_the_new_customers_statuses_leaves_nothing(makers, tmp_path, monkeypatch):
    from sales_pipeline.services import ledger

    def fail(**kwargs):
        raise RuntimeError("the general path broke")

    monkeypatch.setattr(ledger, "product_usage_mark", fail)
    before = (Customer.objects.count(), SettlementLine.objects.count())
    rows = [["N1", "2024-03-05", "P1", "10.00", "1", "INV1"], ["C1", "2024-03-05", "P1", "10.00", "1", "INV2"]]
    run = run_import(write_csv(tmp_path / "new.csv", rows), create_missing=True)
    assert run.status == "failed"
    assert (Customer.objects.count(), SettlementLine.objects.count()) == before
    assert not CustomerProduct.objects.exists() and not CustomerProduct.history.exists()


def test_the_short_path_refuses_a_customer_that_has_a_status(makers):
    c1, _, (p1, *_) = makers
    CustomerProduct.objects.create(customer=c1, product=p1, status="refused")
    given = pd.DataFrame({"customer_id": [c1.pk], "product_id": [p1.pk], "first_day": ["2024-03-05"]})
    with pytest.raises(IntegrityError):
        product_usage_mark_new_customers(first_days=given)
    assert status_of(c1, p1)[0] == "refused"
