"""The pipeline's rules: each stage's required data, moves forward and back, losing a
deal at any stage, and what closing a deal does (sales_pipeline.services.deals).

The helpers here (open_deal, fill, advance) build deals through the services; the other
deal test modules import them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import CustomerProduct, PlannedContact
from sales_pipeline import deal_rules
from sales_pipeline.models import Deal, RefusalReason, Stage, StageChange
from sales_pipeline.services import deals as deal_services
from tests.factories import CustomerFactory, ProductFactory

TODAY = timezone.localdate


def stage_data(stage: int, day) -> dict:
    """Complete data of `stage`, dated around `day`."""
    return {
        Stage.PRESENTATION: {"minutes_sent": day},
        Stage.OFFER: {"offer_sent": day, "offer_expires": day + timedelta(days=30)},
        Stage.AGREEMENT: {"contract_signed": day, "signatories": "J. Smith, CEO"},
        Stage.PAYMENT: {"invoice_number": "INV-7", "invoice_date": day, "invoice_expires": day + timedelta(days=14)},
        Stage.DELIVERY: {"event_date": day, "preparation_agreed": "Site cleared, power ready"},
        Stage.CLOSING: {
            "act_signed": day,
            "survey_date": day + timedelta(days=14),
            "next_contact": day + timedelta(days=60),
        },
    }[stage]


def open_deal(manager, customer=None, *, lines=((Decimal("100.00"), 2, 0),), at=None, **fields) -> Deal:
    """A new deal at Presentation for `customer` (a new one of `manager`'s by default),
    with one line per (price, quantity, discount %)."""
    customer = customer or CustomerFactory(manager=manager)
    rows = [
        {"product": ProductFactory(), "price": price, "quantity": quantity, "discount": discount}
        for price, quantity, discount in lines
    ]
    defaults = {"title": "Packaging line upgrade", "sale_type": Deal.SaleType.LONG_PUSH}
    return deal_services.deal_create(
        customer=customer, manager=manager, actor=manager, lines=rows, at=at, **{**defaults, **fields}
    )


def fill(deal: Deal, stage: int, actor, day=None, *, pay: bool = True) -> Deal:
    """Enter `stage`'s data; at Payment also an advance of half the amount."""
    day = day or TODAY()
    deal = deal_services.deal_update(deal=deal, changes=stage_data(stage, day), actor=actor)
    if stage == Stage.PAYMENT and pay:
        deal_services.payment_record(
            deal=deal, date=day, amount=(deal.amount / 2).quantize(Decimal("0.01")), actor=actor
        )
    return deal


def advance(deal: Deal, to_stage: int, actor, *, day=None, at=None) -> Deal:
    """Fill in and move `deal` stage by stage up to `to_stage`."""
    while deal.stage < to_stage:
        deal = fill(deal, deal.stage, actor, day)
        deal = deal_services.deal_move(deal=deal, to_stage=deal.stage + 1, actor=actor, at=at)
    return deal


def pay_in_full(deal: Deal, actor, day=None) -> None:
    due = deal_rules.deal_money(deal).due
    if due:
        deal_services.payment_record(deal=deal, date=day or TODAY(), amount=due, actor=actor)


#
# Creating
#


def test_a_new_deal_starts_at_presentation_with_its_amount_from_the_lines(mgr_a):
    # when a deal is opened with two lines, one discounted
    deal = open_deal(mgr_a, lines=[(Decimal("100.00"), 2, 0), (Decimal("50.00"), 3, Decimal("10"))])
    # then its amount is the lines' net total and its start is recorded
    assert deal.stage == Stage.PRESENTATION and deal.status == Deal.Status.OPEN
    assert deal.amount == Decimal("335.00")  # 200 + 150 less 10 %
    start = deal.stage_changes.get()
    assert (start.from_stage, start.to_stage, start.changed_by) == (None, Stage.PRESENTATION, mgr_a)
    assert deal.history.first().history_user == mgr_a


#
# Moving forward needs each stage's data
#

REQUIREMENTS = [(stage, requirement, words) for stage, items in deal_rules.REQUIRED_TO_LEAVE.items()
                for requirement, words in items if stage != Stage.CLOSING]  # fmt: skip

BLANK = {"signatories": "", "invoice_number": "", "preparation_agreed": ""}


@pytest.mark.parametrize("stage,requirement,words", REQUIREMENTS)
def test_moving_on_is_refused_with_a_message_naming_what_is_missing(stage, requirement, words, mgr_a):
    # given a deal at `stage` with all of that stage's data except `requirement`
    deal = advance(open_deal(mgr_a), stage, mgr_a)
    data = stage_data(stage, TODAY())
    if requirement in data:
        data[requirement] = BLANK.get(requirement)
    elif requirement == "event_reached":
        data["event_date"] = TODAY() + timedelta(days=1)
    deal = deal_services.deal_update(deal=deal, changes=data, actor=mgr_a)
    if requirement == "lines":
        deal_services.deal_lines_set(deal=deal, lines=[], actor=mgr_a)
    if stage == Stage.PAYMENT and requirement != "paid_any":
        deal_services.payment_record(deal=deal, date=TODAY(), amount=Decimal("10.00"), actor=mgr_a)
    # when it is moved on, then the move is refused and the message says what is missing
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_move(deal=deal, to_stage=stage + 1, actor=mgr_a)
    message = " ".join(refused.value.messages)
    assert f"To leave {Stage(stage).label} the deal needs" in message
    assert words in message
    assert Deal.objects.get(pk=deal.pk).stage == stage


@pytest.mark.parametrize("stage", [s for s in Stage if s != Stage.CLOSING])
def test_with_its_data_complete_each_stage_moves_on_and_the_move_is_recorded(stage, mgr_a):
    deal = advance(open_deal(mgr_a), stage, mgr_a)
    deal = fill(deal, stage, mgr_a)
    deal = deal_services.deal_move(deal=deal, to_stage=stage + 1, actor=mgr_a)
    assert deal.stage == stage + 1
    change = deal.stage_changes.last()
    assert (change.from_stage, change.to_stage, change.to_status, change.changed_by) == (
        stage,
        stage + 1,
        Deal.Status.OPEN,
        mgr_a,
    )


def test_a_deal_moves_forward_one_stage_at_a_time(mgr_a):
    deal = fill(open_deal(mgr_a), Stage.PRESENTATION, mgr_a)
    with pytest.raises(ValidationError, match="one stage at a time"):
        deal_services.deal_move(deal=deal, to_stage=Stage.AGREEMENT, actor=mgr_a)


def test_the_move_to_payment_needs_a_signed_contract_date(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.AGREEMENT, mgr_a)
    deal_services.deal_update(deal=deal, changes={"signatories": "J. Smith"}, actor=mgr_a)
    with pytest.raises(ValidationError, match="the date the contract was signed"):
        deal_services.deal_move(deal=deal, to_stage=Stage.PAYMENT, actor=mgr_a)


def test_an_advance_is_enough_to_start_the_delivery(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a)
    fill(deal, Stage.PAYMENT, mgr_a)  # half the amount paid
    assert deal_rules.deal_money(deal).due == deal.amount / 2
    assert deal_services.deal_move(deal=deal, to_stage=Stage.DELIVERY, actor=mgr_a).stage == Stage.DELIVERY


def test_the_delivery_moves_on_on_the_event_day_itself(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a)
    fill(deal, Stage.DELIVERY, mgr_a, day=TODAY())
    assert deal_services.deal_move(deal=deal, to_stage=Stage.CLOSING, actor=mgr_a).stage == Stage.CLOSING


def test_the_days_in_a_stage_are_calendar_days_between_entering_and_leaving(mgr_a):
    start = timezone.now() - timedelta(days=10)
    deal = fill(open_deal(mgr_a, at=start), Stage.PRESENTATION, mgr_a)
    deal_services.deal_move(deal=deal, to_stage=Stage.OFFER, actor=mgr_a, at=start + timedelta(days=4))
    assert deal.stage_changes.last().days_in_stage == 4


#
# Moving back
#


def test_moving_back_any_number_of_stages_is_allowed_and_recorded(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a)
    deal = deal_services.deal_move(deal=deal, to_stage=Stage.OFFER, actor=mgr_a)
    assert deal.stage == Stage.OFFER
    back = deal.stage_changes.last()
    assert (back.from_stage, back.to_stage, back.changed_by) == (Stage.PAYMENT, Stage.OFFER, mgr_a)
    # the data entered so far is kept
    assert deal.contract_signed is not None


def test_a_move_to_the_current_stage_is_refused(mgr_a):
    deal = open_deal(mgr_a)
    with pytest.raises(ValidationError, match="already"):
        deal_services.deal_move(deal=deal, to_stage=Stage.PRESENTATION, actor=mgr_a)


#
# Offer revisions and product statuses on the way
#


def test_a_new_offer_date_counts_a_revision_and_the_products_are_offered(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.OFFER, mgr_a)
    day = TODAY() - timedelta(days=5)
    deal = deal_services.deal_update(deal=deal, changes={"offer_sent": day}, actor=mgr_a)
    assert deal.offer_revisions == 0
    status = CustomerProduct.objects.get(customer=deal.customer)
    assert (status.status, status.status_date) == (CustomerProduct.Status.OFFERED, day)
    deal = deal_services.deal_update(deal=deal, changes={"offer_sent": TODAY()}, actor=mgr_a)
    assert deal.offer_revisions == 1


def test_a_signed_contract_marks_the_products_contract(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.AGREEMENT, mgr_a)
    fill(deal, Stage.AGREEMENT, mgr_a)
    assert CustomerProduct.objects.get(customer=deal.customer).status == CustomerProduct.Status.CONTRACT


def test_a_new_offer_never_demotes_a_product_in_use(mgr_a):
    first = advance(open_deal(mgr_a), Stage.CLOSING, mgr_a)
    pay_in_full(first, mgr_a)
    fill(first, Stage.CLOSING, mgr_a)
    deal_services.deal_close(deal=first, actor=mgr_a)
    product = first.lines.get().product
    second = deal_services.deal_create(
        customer=first.customer, manager=mgr_a, title="More", sale_type="short_push", actor=mgr_a,
        lines=[{"product": product, "price": Decimal("10"), "quantity": 1, "discount": 0}],
    )  # fmt: skip
    advance(second, Stage.AGREEMENT, mgr_a)
    assert CustomerProduct.objects.get(customer=first.customer, product=product).status == "in_use"


#
# Losing
#


@pytest.mark.parametrize("stage", list(Stage))
def test_a_deal_is_lost_at_any_stage_with_a_reason_of_that_stage(stage, mgr_a):
    # given a deal at `stage` and the seeded reasons of that stage
    deal = advance(open_deal(mgr_a), stage, mgr_a)
    reason = RefusalReason.objects.filter(stage=stage).first()
    assert reason is not None, "the migration seeds reasons for every stage"
    # when it is lost
    deal = deal_services.deal_lose(deal=deal, reason=reason, comment="Chose a cheaper supplier", actor=mgr_a)
    # then it is lost there, with the reason, the comment and a recorded change
    assert (deal.status, deal.stage, deal.lost_reason, deal.lost_comment) == (
        Deal.Status.LOST, stage, reason, "Chose a cheaper supplier",
    )  # fmt: skip
    last = deal.stage_changes.last()
    assert (last.from_stage, last.to_stage, last.to_status) == (stage, stage, Deal.Status.LOST)
    status = CustomerProduct.objects.get(customer=deal.customer)
    if stage > Stage.PAYMENT:
        # paid in full on the way (advance): a purchase means in use, which a refusal never overrides
        assert (status.status, status.refusal_reason) == (CustomerProduct.Status.IN_USE, "")
        return
    # and the customer's product is refused with today's date and the reason
    assert (status.status, status.status_date) == (CustomerProduct.Status.REFUSED, TODAY())
    assert reason.text in status.refusal_reason


@pytest.mark.parametrize("stage", [Stage.OFFER, Stage.DELIVERY])
def test_a_reason_of_another_stage_is_refused(stage, mgr_a):
    deal = advance(open_deal(mgr_a), stage, mgr_a)
    other = RefusalReason.objects.exclude(stage=stage).first()
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_lose(deal=deal, reason=other, comment="x", actor=mgr_a)
    assert "reason" in refused.value.error_dict
    assert Deal.objects.get(pk=deal.pk).status == Deal.Status.OPEN


def test_losing_needs_a_comment(mgr_a):
    deal = open_deal(mgr_a)
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_lose(deal=deal, reason=reason, comment="  ", actor=mgr_a)
    assert "comment" in refused.value.error_dict


def test_a_lost_presentation_keeps_its_retry_date_and_three_months_is_proposed(mgr_a):
    from sales_pipeline.deal_forms import LoseForm

    deal = open_deal(mgr_a)
    proposed = LoseForm(deal=deal).initial["retry_date"]
    assert proposed == deal_rules.retry_date_proposal(TODAY())
    assert 89 <= (proposed - TODAY()).days <= 92
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    deal = deal_services.deal_lose(
        deal=deal, reason=reason, comment="Budget next year", retry_date=proposed, actor=mgr_a
    )
    assert Deal.objects.get(pk=deal.pk).retry_date == proposed


def test_a_retry_date_is_only_for_a_lost_presentation(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.OFFER, mgr_a)
    reason = RefusalReason.objects.filter(stage=Stage.OFFER).first()
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_lose(
            deal=deal, reason=reason, comment="x", retry_date=TODAY() + timedelta(days=90), actor=mgr_a
        )
    assert "retry_date" in refused.value.error_dict


def test_a_lost_deal_no_longer_moves(mgr_a):
    deal = fill(open_deal(mgr_a), Stage.PRESENTATION, mgr_a)
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    deal_services.deal_lose(deal=deal, reason=reason, comment="No", actor=mgr_a)
    with pytest.raises(ValidationError, match="lost"):
        deal_services.deal_move(deal=deal, to_stage=Stage.OFFER, actor=mgr_a)


def test_a_refusal_does_not_override_a_product_in_use(mgr_a):
    deal = open_deal(mgr_a)
    product = deal.lines.get().product
    from customers.portrait import product_status_set

    product_status_set(customer=deal.customer, product=product, status="in_use")
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    deal_services.deal_lose(deal=deal, reason=reason, comment="Has enough", actor=mgr_a)
    assert CustomerProduct.objects.get(customer=deal.customer).status == "in_use"


#
# Closing
#


def test_closing_needs_the_act_the_survey_date_the_next_contact_and_full_payment(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.CLOSING, mgr_a)  # half paid
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_close(deal=deal, actor=mgr_a)
    message = " ".join(refused.value.messages)
    assert message.startswith("To be closed as won the deal needs")
    for words in ["the date the act was signed", "the satisfaction survey date", "the date of the next contact"]:
        assert words in message
    assert f"full payment ({deal.amount / 2:.2f} still due)" in message
    # with the data but still half paid, only the payment is missing
    fill(deal, Stage.CLOSING, mgr_a)
    with pytest.raises(ValidationError) as refused:
        deal_services.deal_close(deal=deal, actor=mgr_a)
    assert refused.value.messages == [
        f"To be closed as won the deal needs full payment ({deal.amount / 2:.2f} still due)."
    ]


def test_closing_plans_the_next_contact_marks_products_in_use_and_keeps_the_survey_date(mgr_a):
    # given a deal at Closing, fully paid, with its closing data
    deal = advance(open_deal(mgr_a), Stage.CLOSING, mgr_a)
    pay_in_full(deal, mgr_a)
    deal = fill(deal, Stage.CLOSING, mgr_a)
    # when it is closed as won with a grade
    deal = deal_services.deal_close(deal=deal, actor=mgr_a, grade=4)
    # then it is won, graded, and the close is recorded
    assert (deal.status, deal.closing_grade) == (Deal.Status.WON, 4)
    assert deal.stage_changes.last().to_status == Deal.Status.WON
    # and the next contact is on the manager's agenda
    planned = PlannedContact.objects.get(customer=deal.customer)
    assert (planned.manager, planned.due_date, planned.status) == (mgr_a, deal.next_contact, "planned")
    assert deal.title in planned.purpose
    # and the customer's product is in use from the act's date
    status = CustomerProduct.objects.get(customer=deal.customer)
    assert (status.status, status.status_date) == (CustomerProduct.Status.IN_USE, deal.act_signed)
    assert deal.survey_date == TODAY() + timedelta(days=14)


def test_a_deal_is_closed_from_the_closing_stage_only(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a)
    with pytest.raises(ValidationError, match="closed from the Closing"):
        deal_services.deal_close(deal=deal, actor=mgr_a)


def test_every_change_writes_the_deals_history_with_the_actor(mgr_a):
    deal = advance(open_deal(mgr_a), Stage.OFFER, mgr_a)
    assert deal.history.filter(stage=Stage.OFFER, history_user=mgr_a).exists()
    assert StageChange.objects.filter(deal=deal).count() == 2
