"""The six-stage pipeline's rules (domain.md section 5): what each stage needs before a
deal may leave it, a deal's money, and its days in a stage. The changes themselves are
sales_pipeline.services.deals.

Rules chosen where the issue left room
--------------------------------------
* **Forward one stage at a time, back any number.** A forward move checks the data of
  the stage being left (REQUIRED_TO_LEAVE); skipping a stage would skip its checks and
  leave the funnel with deals that "reached" a stage without passing the one before.
  A backward move needs no data, keeps everything entered so far and is recorded like
  any other move. Won and lost deals do not move.
* **Payment.** Leaving Payment (towards Delivery) needs an invoice (number, date,
  expiry) and money received: *one payment is enough*, so a 50 % advance lets the
  delivery start. *Closing the deal as won needs full payment* (paid >= amount): the
  other 50 % normally arrives after the delivery, while the deal is in Delivery or
  Closing. A positive payment may not exceed what is still due; a refund (a negative
  payment) may not exceed what was paid. Payments are recorded from the Payment stage
  on; refunds also on lost deals (an advance returned), new money not.
* **Delivery.** Leaving Delivery needs the event date, and that date reached (on the
  day itself is fine: the event has taken place), and the preparatory steps agreed.
* **Closing** (won) needs the signed act, the satisfaction survey date, the next
  contact date and full payment. It plans the next contact on the deal manager's
  agenda, marks the deal's products "in use" and keeps the survey date for the
  control points. (Complaints have not landed yet, so a low closing grade is only
  stored, not escalated.)
* **Days in a stage** are calendar days in the business time zone between entering
  and leaving it (entered Monday, left Tuesday: 1).
* **Offer revisions** count themselves: changing the date an offer was sent (a new
  version went out) adds one revision.
* **Product statuses** (customers.portrait.product_status_set) follow the deal for
  each product on its lines: offer sent -> offered, contract signed -> contract,
  won -> in use, lost -> refused with the reason. They only move forward (offered <
  contract < in use), so a new offer never demotes a product the customer already
  uses; a refusal overrides everything except "in use", and a new offer overrides an
  old refusal.

Every change is a keyword-only, atomic function below; each writes the deal's history
row (simple_history, with the acting user) and each stage or status change writes one
StageChange. Views, the demo, the bench and tests all go through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_noop

from crm_project.dates import business_today, months_before

from .models import MONEY_PLACES, Deal, DealLine, Stage

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#
# What each stage needs before the deal may leave it (forward)
#

# (requirement, what is missing in words: marked, translated when read). A requirement is
# a Deal field that must be filled, or one of the computed checks in _CHECKS.
REQUIRED_TO_LEAVE: dict[int, list[tuple[str, str]]] = {
    Stage.PRESENTATION: [
        ("minutes_sent", gettext_noop("the date the meeting minutes were sent")),
    ],
    Stage.OFFER: [
        ("offer_sent", gettext_noop("the date the offer was sent")),
        ("offer_expires", gettext_noop("the offer's expiry date")),
        ("lines", gettext_noop("at least one product line with an amount")),
    ],
    Stage.AGREEMENT: [
        ("contract_signed", gettext_noop("the date the contract was signed")),
        ("signatories", gettext_noop("the contract's signatories")),
    ],
    Stage.PAYMENT: [
        ("invoice_number", gettext_noop("the invoice number")),
        ("invoice_date", gettext_noop("the invoice date")),
        ("invoice_expires", gettext_noop("the invoice's expiry date")),
        ("paid_any", gettext_noop("a payment received (an advance is enough)")),
    ],
    Stage.DELIVERY: [
        ("event_date", gettext_noop("the delivery / event date")),
        ("event_reached", gettext_noop("the delivery / event date reached (it is still ahead)")),
        ("preparation_agreed", gettext_noop("the preparatory steps agreed with the customer")),
    ],
    Stage.CLOSING: [
        ("act_signed", gettext_noop("the date the act was signed")),
        ("survey_date", gettext_noop("the satisfaction survey date")),
        ("next_contact", gettext_noop("the date of the next contact")),
        ("paid_full", gettext_noop("full payment")),
    ],
}

# The fields each stage's panel edits.
STAGE_FIELDS: dict[int, list[str]] = {
    Stage.PRESENTATION: ["minutes_sent"],
    Stage.OFFER: ["offer_sent", "offer_expires"],
    Stage.AGREEMENT: ["contract_signed", "signatories"],
    Stage.PAYMENT: ["invoice_number", "invoice_date", "invoice_expires"],
    Stage.DELIVERY: ["event_date", "preparation_agreed"],
    Stage.CLOSING: ["act_signed", "survey_date", "survey_sent", "next_contact", "closing_grade"],
}
GENERAL_FIELDS = ["title", "sale_type", "source", "expected_close", "manager"]
EDITABLE_FIELDS = {*GENERAL_FIELDS, *(name for names in STAGE_FIELDS.values() for name in names)}

# A lost presentation proposes trying again this much later.
RETRY_AFTER_MONTHS = 3


@dataclass(frozen=True)
class Money:
    """What a deal costs, what came in, what is still due."""

    amount: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return self.amount - self.paid


def _computed_checks(deal: Deal, money: Money, net_total: Decimal, today: date) -> dict[str, bool]:
    return {
        "lines": net_total > 0,
        "paid_any": money.paid > 0,
        "paid_full": money.amount > 0 and money.paid >= money.amount,
        "event_reached": deal.event_date is None or deal.event_date <= today,
    }


def missing_to_leave(
    deal: Deal,
    *,
    stage: int | None = None,
    today: date | None = None,
    lines: Iterable[DealLine] | None = None,
    money: Money | None = None,
) -> list[str]:
    """What `deal` lacks to leave `stage` (default: its current stage) forward, in words;
    empty when it may go. Two queries (lines, payments), none when the caller has the
    deal's `lines` and `money` at hand already (the deal page)."""
    stage = deal.stage if stage is None else stage
    today = today or business_today()
    money = money if money is not None else deal_money(deal)
    checks = _computed_checks(deal, money, lines_total(deal.lines.all() if lines is None else lines), today)
    missing = []
    for requirement, words in REQUIRED_TO_LEAVE[stage]:
        ok = checks[requirement] if requirement in checks else bool(getattr(deal, requirement))
        if not ok:
            if requirement == "paid_full":
                missing.append(gettext("full payment (%(due)s still due)") % {"due": number_format(money.due, 2)})
            else:
                missing.append(gettext(words))
    return missing


def missing_message(deal: Deal, stage: int, missing: list[str]) -> str:
    if stage == Stage.CLOSING:
        return gettext("To be closed as won the deal needs %(missing)s.") % {"missing": ", ".join(missing)}
    return gettext("To leave %(stage)s the deal needs %(missing)s.") % {
        "stage": Stage(stage).label,
        "missing": ", ".join(missing),
    }


#
# Money
#


def line_net(line: DealLine) -> Decimal:
    """quantity x price less the discount, to the cent."""
    gross = Decimal(line.quantity) * Decimal(line.price)
    return (gross * (1 - Decimal(line.discount) / 100)).quantize(CENT, ROUND_HALF_UP)


def lines_total(lines: Iterable[DealLine]) -> Decimal:
    return sum((line_net(line) for line in lines), ZERO)


def deal_money(deal: Deal) -> Money:
    paid = deal.payments.aggregate(total=Sum("amount"))["total"] or ZERO
    return Money(amount=deal.amount, paid=paid)


def split_amount(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split in proportion to `weights`, each share rounded to the cent and the
    remainder on the last share, so the shares add up to `amount` exactly."""
    total = sum(weights, ZERO)
    if total <= 0:
        raise ValueError("nothing to split over")
    shares = [(amount * weight / total).quantize(CENT, ROUND_HALF_UP) for weight in weights[:-1]]
    return [*shares, amount - sum(shares, ZERO)]


def retry_date_proposal(today: date) -> date:
    """What the lose form proposes for a lost presentation: today + RETRY_AFTER_MONTHS
    (clipped to the month's end)."""
    return months_before(today, -RETRY_AFTER_MONTHS)


def days_in_current_stage(deal: Deal, today: date | None = None) -> int:
    """Calendar days since the deal entered its stage."""
    today = today or business_today()
    return max((today - timezone.localdate(deal.stage_entered_at)).days, 0)


def line_cost(standard_cost: Decimal | None, quantity: Decimal) -> Decimal | None:
    """A ledger line's cost: the product's standard cost per unit times the line's quantity
    (negative on a refund), to the ledger's four places; None when the product has none."""
    if standard_cost is None:
        return None
    return (Decimal(standard_cost) * quantity).quantize(Decimal(1).scaleb(-MONEY_PLACES))
