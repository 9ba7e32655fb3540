"""Payments and refunds write the ledger in the same transaction: split over the deal's
lines exactly to the cent, negative for refunds, never more back than was paid, and
nothing at all when anything fails (sales_pipeline.services.deals.payment_record)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sales_pipeline import deal_rules
from sales_pipeline.models import Payment, SettlementLine, Stage
from sales_pipeline.services import deals as deal_services
from sales_pipeline.services import ledger
from tests.sales_pipeline.test_pipeline import advance, open_deal

TODAY = timezone.localdate


def at_payment(manager, lines):
    deal = advance(open_deal(manager, lines=lines), Stage.PAYMENT, manager)
    return deal_services.deal_update(
        deal=deal,
        changes={"invoice_number": "INV-42", "invoice_date": TODAY(), "invoice_expires": TODAY() + timedelta(days=10)},
        actor=manager,
    )


def ledger_of(payment) -> list[tuple]:
    return list(
        SettlementLine.objects.filter(source_key__startswith=f"payment:{payment.pk}:")
        .order_by("source_key")
        .values_list("product_id", "amount")
    )


#
# The split
#


def test_a_payment_is_split_over_the_lines_in_proportion_exact_to_the_cent(mgr_a):
    # given three lines of 100, 100 and 100 (net): a third each does not divide 100.00
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0), (Decimal("50"), 2, 0), (Decimal("125"), 1, Decimal("20"))])
    lines = list(deal.lines.order_by("pk"))
    # when 100.00 is paid
    payment = deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("100.00"), actor=mgr_a)
    # then each line gets its share rounded to the cent, the remainder on the last one
    rows = SettlementLine.objects.filter(source_key__startswith=f"payment:{payment.pk}:").order_by("pk")
    assert [(r.product_id, r.amount) for r in rows] == [
        (lines[0].product_id, Decimal("33.33")),
        (lines[1].product_id, Decimal("33.33")),
        (lines[2].product_id, Decimal("33.34")),
    ]
    assert sum(r.amount for r in rows) == Decimal("100.00")
    # and every line carries the customer, the manager, the date, the invoice and its source key
    first = rows[0]
    assert (first.customer, first.manager, first.date, first.document) == (deal.customer, mgr_a, TODAY(), "INV-42")
    assert first.source_key == f"payment:{payment.pk}:{lines[0].pk}"


def test_the_split_follows_the_net_amounts_after_discounts(mgr_a):
    # nets 300.00 and 100.00 (200 less 50 %)
    deal = at_payment(mgr_a, [(Decimal("150"), 2, 0), (Decimal("200"), 1, Decimal("50"))])
    payment = deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("200.00"), actor=mgr_a)
    assert [amount for _, amount in ledger_of(payment)] == [Decimal("150.00"), Decimal("50.00")]


@pytest.mark.parametrize("amount", ["0.01", "0.02", "99.99", "333.33", "1000.00"])
def test_the_shares_always_add_up_to_the_payment(amount, mgr_a):
    deal = at_payment(mgr_a, [(Decimal("333.33"), 1, 0), (Decimal("333.33"), 1, 0), (Decimal("333.34"), 1, 0)])
    payment = deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal(amount), actor=mgr_a)
    assert sum(a for _, a in ledger_of(payment)) == Decimal(amount)


def test_split_amount_puts_the_remainder_on_the_last_share():
    assert deal_rules.split_amount(Decimal("10.00"), [Decimal(1)] * 3) == [
        Decimal("3.33"),
        Decimal("3.33"),
        Decimal("3.34"),
    ]
    assert deal_rules.split_amount(Decimal("-10.00"), [Decimal(1)] * 3) == [
        Decimal("-3.33"), Decimal("-3.33"), Decimal("-3.34"),
    ]  # fmt: skip


#
# Paid and due, partial payments
#


def test_a_fifty_percent_advance_and_the_rest_after_delivery_pay_the_deal(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("500"), 2, 0)])  # 1,000.00
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("500.00"), actor=mgr_a, note="50 % advance")
    money = deal_rules.deal_money(deal)
    assert (money.paid, money.due) == (Decimal("500.00"), Decimal("500.00"))
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("500.00"), actor=mgr_a, note="after delivery")
    money = deal_rules.deal_money(deal)
    assert (money.paid, money.due) == (Decimal("1000.00"), Decimal("0.00"))
    assert SettlementLine.objects.filter(customer=deal.customer).count() == 2


def test_a_payment_above_what_is_due_is_refused(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0)])
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("60.00"), actor=mgr_a)
    with pytest.raises(ValidationError, match=r"more than the 40\.00 still due"):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("40.01"), actor=mgr_a)


def test_payments_start_at_the_payment_stage(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.AGREEMENT, mgr_a)
    with pytest.raises(ValidationError, match="from the Payment stage on"):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("10.00"), actor=mgr_a)


def test_a_payment_dated_in_the_future_is_refused(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0)])
    with pytest.raises(ValidationError) as refused:
        deal_services.payment_record(deal=deal, date=TODAY() + timedelta(days=1), amount=Decimal("10.00"), actor=mgr_a)
    assert "date" in refused.value.error_dict


def test_fractions_of_a_cent_are_refused(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0)])
    with pytest.raises(ValidationError):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("10.005"), actor=mgr_a)


#
# Refunds
#


def test_a_refund_writes_negative_lines(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0), (Decimal("100"), 1, 0)])
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("200.00"), actor=mgr_a)
    refund = deal_services.payment_record(
        deal=deal, date=TODAY(), amount=Decimal("-50.00"), actor=mgr_a, note="damaged"
    )
    assert [amount for _, amount in ledger_of(refund)] == [Decimal("-25.00"), Decimal("-25.00")]
    assert all(line.quantity < 0 for line in SettlementLine.objects.filter(amount__lt=0))
    assert deal_rules.deal_money(deal).paid == Decimal("150.00")


def test_a_refund_above_what_was_paid_is_refused_and_writes_nothing(mgr_a):
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0)])
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("30.00"), actor=mgr_a)
    lines_before = SettlementLine.objects.count()
    with pytest.raises(ValidationError, match=r"cannot exceed what was paid \(30\.00\)"):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("-30.01"), actor=mgr_a)
    assert SettlementLine.objects.count() == lines_before
    assert Payment.objects.filter(deal=deal).count() == 1


def test_a_lost_deal_takes_refunds_but_no_new_money(mgr_a):
    from sales_pipeline.models import RefusalReason

    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0)])
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("50.00"), actor=mgr_a)
    reason = RefusalReason.objects.filter(stage=Stage.PAYMENT).first()
    deal_services.deal_lose(deal=deal, reason=reason, comment="Budget cut", actor=mgr_a)
    with pytest.raises(ValidationError, match="only refunds"):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("10.00"), actor=mgr_a)
    deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("-50.00"), actor=mgr_a)
    assert deal_rules.deal_money(deal).paid == 0


#
# All or nothing
#


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_first_ledger_line_writes_nothing(mgr_a, monkeypatch):
    # given a deal of two lines
    deal = at_payment(mgr_a, [(Decimal("100"), 1, 0), (Decimal("100"), 1, 0)])
    payments_before, lines_before = Payment.objects.count(), SettlementLine.objects.count()
    # and a ledger that fails on its second line
    written = []
    real = ledger.lines_create

    def fail_on_second(lines, **kwargs):
        written.extend(real(lines[:1], **kwargs))
        raise RuntimeError("disk full")

    monkeypatch.setattr(ledger, "lines_create", fail_on_second)
    # when a payment is recorded, then it fails
    with pytest.raises(RuntimeError):
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("100.00"), actor=mgr_a)
    # and neither the payment nor the first line it wrote is in the database
    assert len(written) == 1
    assert Payment.objects.count() == payments_before
    assert SettlementLine.objects.count() == lines_before
    assert not SettlementLine.objects.filter(pk=written[0].pk).exists()
