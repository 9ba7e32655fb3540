"""The six-stage pipeline (domain.md section 5): its rules and every change of a deal.

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
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import CustomerProduct, PlannedContact
from customers.portrait import product_status_set
from segmentation.classification import months_before

from .models import (
    MONEY_PLACES,
    ContractChange,
    Deal,
    DealLine,
    Payment,
    RefusalReason,
    SettlementLine,
    Stage,
    StageChange,
)
from .product_usage import product_usage_mark

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
OPEN, WON, LOST = Deal.Status.OPEN, Deal.Status.WON, Deal.Status.LOST

#
# What each stage needs before the deal may leave it (forward)
#

# (requirement, what is missing in words). A requirement is a Deal field that must be
# filled, or one of the computed checks in _CHECKS.
REQUIRED_TO_LEAVE: dict[int, list[tuple[str, str]]] = {
    Stage.PRESENTATION: [
        ("minutes_sent", "the date the meeting minutes were sent"),
    ],
    Stage.OFFER: [
        ("offer_sent", "the date the offer was sent"),
        ("offer_expires", "the offer's expiry date"),
        ("lines", "at least one product line with an amount"),
    ],
    Stage.AGREEMENT: [
        ("contract_signed", "the date the contract was signed"),
        ("signatories", "the contract's signatories"),
    ],
    Stage.PAYMENT: [
        ("invoice_number", "the invoice number"),
        ("invoice_date", "the invoice date"),
        ("invoice_expires", "the invoice's expiry date"),
        ("paid_any", "a payment received (an advance is enough)"),
    ],
    Stage.DELIVERY: [
        ("event_date", "the delivery / event date"),
        ("event_reached", "the delivery / event date reached (it is still ahead)"),
        ("preparation_agreed", "the preparatory steps agreed with the customer"),
    ],
    Stage.CLOSING: [
        ("act_signed", "the date the act was signed"),
        ("survey_date", "the satisfaction survey date"),
        ("next_contact", "the date of the next contact"),
        ("paid_full", "full payment"),
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


def missing_to_leave(deal: Deal, *, stage: int | None = None, today: date | None = None) -> list[str]:
    """What `deal` lacks to leave `stage` (default: its current stage) forward, in words;
    empty when it may go. Two queries (lines, payments)."""
    stage = deal.stage if stage is None else stage
    today = today or timezone.localdate()
    money = deal_money(deal)
    checks = _computed_checks(deal, money, lines_total(deal.lines.all()), today)
    missing = []
    for requirement, words in REQUIRED_TO_LEAVE[stage]:
        ok = checks[requirement] if requirement in checks else bool(getattr(deal, requirement))
        if not ok:
            if requirement == "paid_full":
                words = f"full payment ({money.due:.2f} still due)"
            missing.append(words)
    return missing


def missing_message(deal: Deal, stage: int, missing: list[str]) -> str:
    action = "be closed as won" if stage == Stage.CLOSING else f"leave {Stage(stage).label}"
    return f"To {action} the deal needs {', '.join(missing)}."


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


def with_paid(deals: QuerySet) -> QuerySet:
    """Annotate `paid` (sum of payments, refunds negative) in the same query."""
    paid = (
        Payment.objects.filter(deal_id=OuterRef("pk"))
        .order_by()
        .values("deal_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return deals.annotate(paid=Coalesce(Subquery(paid, output_field=money), Value(ZERO, output_field=money)))


def split_amount(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`amount` split in proportion to `weights`, each share rounded to the cent and the
    remainder on the last share, so the shares add up to `amount` exactly."""
    total = sum(weights, ZERO)
    if total <= 0:
        raise ValueError("nothing to split over")
    shares = [(amount * weight / total).quantize(CENT, ROUND_HALF_UP) for weight in weights[:-1]]
    return [*shares, amount - sum(shares, ZERO)]


#
# Helpers shared by the services
#


def _now(at: datetime | None) -> datetime:
    return at or timezone.now()


def _days_between(start: datetime, end: datetime) -> int:
    return max((timezone.localdate(end) - timezone.localdate(start)).days, 0)


def _locked(deal: Deal) -> Deal:
    """The deal's row, locked until the transaction ends: two moves or payments of the
    same deal are serialised, and each sees the other's result."""
    return Deal.objects.select_for_update().get(pk=deal.pk)


def _save(deal: Deal, actor, fields: Iterable[str], reason: str = "") -> None:
    deal._history_user = actor
    if reason:
        deal._change_reason = reason
    deal.full_clean(exclude=["customer", "manager", "lost_reason"])
    deal.save(update_fields=list(dict.fromkeys(fields)))


def _stage_change(deal: Deal, *, from_stage, to_stage, to_status, actor, at: datetime, days: int) -> StageChange:
    return StageChange.objects.create(
        deal=deal,
        from_stage=from_stage,
        to_stage=to_stage,
        to_status=to_status,
        changed_at=at,
        changed_by=actor,
        days_in_stage=days,
    )


STATUS_RANK = {
    CustomerProduct.Status.NOT_OFFERED: 0,
    CustomerProduct.Status.REFUSED: 0,
    CustomerProduct.Status.OFFERED: 1,
    CustomerProduct.Status.CONTRACT: 2,
    CustomerProduct.Status.IN_USE: 3,
}


def _mark_products(deal: Deal, status: str, day: date, reason: str = "") -> None:
    """Set the customer's status of each product on the deal's lines (forward only; a
    refusal never overrides "in use")."""
    products = {line.product_id: line.product for line in deal.lines.select_related("product")}
    if not products:
        return
    current = dict(
        CustomerProduct.objects.filter(customer_id=deal.customer_id, product_id__in=products).values_list(
            "product_id", "status"
        )
    )
    for product_id, product in products.items():
        now = current.get(product_id, CustomerProduct.Status.NOT_OFFERED)
        if status == CustomerProduct.Status.REFUSED:
            if now == CustomerProduct.Status.IN_USE:
                continue
        elif STATUS_RANK[status] <= STATUS_RANK[now] and now != CustomerProduct.Status.REFUSED:
            continue
        product_status_set(customer=deal.customer, product=product, status=status, status_date=day, reason=reason)


#
# Creating and editing
#


@transaction.atomic
def deal_create(
    *,
    customer,
    manager,
    title: str,
    sale_type: str,
    actor,
    source: str = "",
    expected_close: date | None = None,
    lines: Iterable[dict] = (),
    at: datetime | None = None,
) -> Deal:
    """A new deal at Presentation, with its lines (dicts of product, quantity, price,
    discount) and amount, and the StageChange that records its start (from nowhere).
    Called by the deal create page and the demo."""
    at = _now(at)
    deal = Deal(
        customer=customer,
        manager=manager,
        title=title,
        sale_type=sale_type,
        source=source,
        expected_close=expected_close,
        stage=Stage.PRESENTATION,
        stage_entered_at=at,
        created_at=at,
    )
    rows = list(lines)
    deal.amount = lines_total(DealLine(**{k: v for k, v in row.items() if k != "pk"}) for row in rows)
    deal._history_user = actor
    deal.full_clean()
    deal.save()
    _write_lines(deal, rows)
    _stage_change(deal, from_stage=None, to_stage=Stage.PRESENTATION, to_status=OPEN, actor=actor, at=at, days=0)
    return deal


def _write_lines(deal: Deal, rows: list[dict]) -> None:
    """Make the deal's lines exactly `rows` (a row with `pk` updates that line) and set
    deal.amount (not saved) to their total."""
    existing = {line.pk: line for line in deal.lines.all()}
    kept = set()
    for row in rows:
        line = existing.get(row.get("pk")) or DealLine(deal=deal)
        for name in ("product", "quantity", "price", "discount"):
            if name in row and row[name] is not None:
                setattr(line, name, row[name])
        line.full_clean(exclude=["deal"])
        line.save()
        kept.add(line.pk)
    DealLine.objects.filter(deal=deal).exclude(pk__in=kept).delete()
    deal.amount = lines_total(deal.lines.all())


@transaction.atomic
def deal_lines_set(*, deal: Deal, lines: list[dict], actor) -> Deal:
    """Replace the deal's product lines and recompute its amount. The amount may not drop
    below what was paid (record a refund first). Called by the deal edit page."""
    deal = _locked(deal)
    if deal.status != OPEN:
        raise ValidationError("A closed deal's products cannot change.")
    _write_lines(deal, lines)
    paid = deal_money(deal).paid
    if deal.amount < paid:
        raise ValidationError(f"The lines add up to {deal.amount:.2f}, less than the {paid:.2f} paid: refund first.")
    _save(deal, actor, ["amount"], reason="products changed")
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, changes: dict, actor) -> Deal:
    """Change the deal's general fields and stage data (only EDITABLE_FIELDS). A new
    offer date counts a revision and marks the products offered; a contract date marks
    them "contract". Writes one history row when anything changed. Called by the deal
    edit page, the stage panel and the document "sent" action."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    deal = _locked(deal)
    before = {name: getattr(deal, name) for name in changes}
    changed = [name for name, value in changes.items() if before[name] != value]
    if not changed:
        return deal
    for name in changed:
        setattr(deal, name, changes[name])
    errors = {}
    if deal.offer_sent and deal.offer_expires and deal.offer_expires < deal.offer_sent:
        errors["offer_expires"] = "The offer cannot expire before it was sent."
    if deal.invoice_date and deal.invoice_expires and deal.invoice_expires < deal.invoice_date:
        errors["invoice_expires"] = "The invoice cannot expire before its date."
    if deal.closing_grade is not None and not 1 <= deal.closing_grade <= 5:
        errors["closing_grade"] = "The grade is 1 to 5."
    if errors:
        raise ValidationError(errors)
    fields = list(changed)
    if "offer_sent" in changed and before["offer_sent"] and deal.offer_sent:
        deal.offer_revisions += 1
        fields.append("offer_revisions")
    _save(deal, actor, fields)
    if "offer_sent" in changed and deal.offer_sent:
        _mark_products(deal, CustomerProduct.Status.OFFERED, deal.offer_sent)
    if "contract_signed" in changed and deal.contract_signed:
        _mark_products(deal, CustomerProduct.Status.CONTRACT, deal.contract_signed)
    return deal


@transaction.atomic
def deal_edit(*, deal: Deal, changes: dict, actor, lines: list[dict] | None = None) -> Deal:
    """deal_update and, when `lines` is given, deal_lines_set, all or nothing. Called by
    the deal edit page."""
    deal = deal_update(deal=deal, changes=changes, actor=actor)
    if lines is not None:
        deal = deal_lines_set(deal=deal, lines=lines, actor=actor)
    return deal


@transaction.atomic
def contract_change_add(*, deal: Deal, date: date, note: str, actor) -> ContractChange:
    """Record a change to the signed contract (its date and what changed)."""
    deal = _locked(deal)
    if not deal.contract_signed:
        raise ValidationError("Record the signed contract first.")
    if date < deal.contract_signed:
        raise ValidationError({"date": "A change cannot predate the contract."})
    change = ContractChange(deal=deal, date=date, note=note.strip())
    change.full_clean()
    change.save()
    return change


#
# Moving, losing, closing
#


@transaction.atomic
def deal_move(*, deal: Deal, to_stage: int, actor, at: datetime | None = None) -> Deal:
    """Move an open deal to `to_stage`: forward exactly one stage, once the current
    stage's data is complete (REQUIRED_TO_LEAVE; the error names what is missing), or
    back to any earlier stage. Writes a StageChange with the days spent in the stage
    left. Called by the board (htmx), the deal page and the demo."""
    at = _now(at)
    deal = _locked(deal)
    if deal.status != OPEN:
        raise ValidationError(f"The deal is {deal.get_status_display().lower()}: it no longer moves.")
    if to_stage not in Stage.values:
        raise ValidationError("No such stage.")
    if to_stage == deal.stage:
        raise ValidationError(f"The deal is at {Stage(to_stage).label} already.")
    if to_stage > deal.stage + 1:
        raise ValidationError(f"Deals move forward one stage at a time: next is {Stage(deal.stage + 1).label}.")
    if to_stage > deal.stage:
        missing = missing_to_leave(deal, today=timezone.localdate(at))
        if missing:
            raise ValidationError(missing_message(deal, deal.stage, missing))
    previous = deal.stage
    days = _days_between(deal.stage_entered_at, at)
    deal.stage, deal.stage_entered_at = to_stage, at
    _save(deal, actor, ["stage", "stage_entered_at"], reason=f"{Stage(previous).label} -> {Stage(to_stage).label}")
    _stage_change(deal, from_stage=previous, to_stage=to_stage, to_status=OPEN, actor=actor, at=at, days=days)
    return deal


def retry_date_proposal(today: date) -> date:
    """What the lose form proposes for a lost presentation: today + RETRY_AFTER_MONTHS
    (clipped to the month's end)."""
    return months_before(today, -RETRY_AFTER_MONTHS)


@transaction.atomic
def deal_lose(
    *,
    deal: Deal,
    reason: RefusalReason,
    comment: str,
    actor,
    retry_date: date | None = None,
    at: datetime | None = None,
) -> Deal:
    """Lose an open deal at its current stage, with a refusal reason of that stage and a
    comment; a lost presentation may carry the date to try again. The customer's status
    of each product on the deal becomes "refused" with the date and reason. Called by
    the lose form and the demo."""
    at = _now(at)
    deal = _locked(deal)
    today = timezone.localdate(at)
    if deal.status != OPEN:
        raise ValidationError(f"The deal is {deal.get_status_display().lower()} already.")
    errors = {}
    if reason.stage != deal.stage:
        errors["reason"] = f"Pick a reason of the {Stage(deal.stage).label} stage."
    elif not reason.is_active:
        errors["reason"] = "This reason is no longer in use."
    comment = (comment or "").strip()
    if not comment:
        errors["comment"] = "Say in a few words what happened."
    if retry_date is not None and deal.stage != Stage.PRESENTATION:
        errors["retry_date"] = "A retry date belongs to a lost presentation."
    elif retry_date is not None and retry_date <= today:
        errors["retry_date"] = "Pick a day after today."
    if errors:
        raise ValidationError(errors)
    days = _days_between(deal.stage_entered_at, at)
    deal.status, deal.lost_reason, deal.lost_comment, deal.closed_at = LOST, reason, comment, at
    deal.retry_date = retry_date
    _save(deal, actor, ["status", "lost_reason", "lost_comment", "closed_at", "retry_date"], reason="lost")
    _stage_change(deal, from_stage=deal.stage, to_stage=deal.stage, to_status=LOST, actor=actor, at=at, days=days)
    _mark_products(deal, CustomerProduct.Status.REFUSED, today, reason=f"{reason.text}: {comment}"[:300])
    return deal


@transaction.atomic
def deal_close(*, deal: Deal, actor, grade: int | None = None, at: datetime | None = None) -> Deal:
    """Close a deal at the Closing stage as won, once its closing data and full payment
    are in (REQUIRED_TO_LEAVE[CLOSING]). Plans the next contact on the deal manager's
    agenda, marks the products "in use" from the act's date, and keeps the survey date
    for the control points. Called by the deal page and the demo."""
    at = _now(at)
    deal = _locked(deal)
    if deal.status != OPEN:
        raise ValidationError(f"The deal is {deal.get_status_display().lower()} already.")
    if deal.stage != Stage.CLOSING:
        raise ValidationError(f"A deal is closed from the {Stage.CLOSING.label} stage.")
    missing = missing_to_leave(deal, today=timezone.localdate(at))
    if missing:
        raise ValidationError(missing_message(deal, Stage.CLOSING, missing))
    if grade is not None and not 1 <= grade <= 5:
        raise ValidationError({"closing_grade": "The grade is 1 to 5."})
    if deal.next_contact < timezone.localdate(at):
        raise ValidationError({"next_contact": "The next contact cannot be in the past."})
    days = _days_between(deal.stage_entered_at, at)
    deal.status, deal.closed_at = WON, at
    fields = ["status", "closed_at"]
    if grade is not None:
        deal.closing_grade = grade
        fields.append("closing_grade")
    _save(deal, actor, fields, reason="won")
    _stage_change(deal, from_stage=deal.stage, to_stage=deal.stage, to_status=WON, actor=actor, at=at, days=days)
    first_line = deal.lines.select_related("product").order_by("pk").first()
    planned = PlannedContact(
        customer=deal.customer,
        manager=deal.manager,
        due_date=deal.next_contact,
        purpose=f"Follow-up after the deal “{deal.title}”"[:200],
        product=first_line.product if first_line else None,
    )
    planned.full_clean()
    planned._history_user = actor
    planned.save()
    _mark_products(deal, CustomerProduct.Status.IN_USE, deal.act_signed)
    return deal


#
# Payments and refunds: the ledger
#


def _ledger_line_create(**fields) -> SettlementLine:
    # One line at a time (a deal has a handful): a failure half-way is rolled back
    # with the payment by payment_record's transaction.
    return SettlementLine.objects.create(**fields)


@transaction.atomic
def payment_record(*, deal: Deal, date: date, amount: Decimal, actor, note: str = "") -> Payment:
    """Record money received for `deal` (a negative amount: a refund) and write its
    settlement lines in the same transaction: the amount split over the deal's lines in
    proportion to their net amounts, exact to the cent, the remainder on the last line,
    one ledger line each (source key "payment:<payment>:<line>"; negative for a refund).
    A failure anywhere writes nothing. Called by the payment form and the demo."""
    deal = _locked(deal)
    amount = Decimal(amount)
    if amount != amount.quantize(CENT):
        raise ValidationError({"amount": "Give the amount in whole cents."})
    amount = amount.quantize(CENT)  # 500.0000 is 500.00
    if amount == 0:
        raise ValidationError({"amount": "The amount cannot be zero."})
    if date > timezone.localdate():
        raise ValidationError({"date": "A payment is recorded once it has arrived: the date is in the future."})
    if deal.stage < Stage.PAYMENT:
        raise ValidationError(f"Payments are recorded from the {Stage.PAYMENT.label} stage on.")
    money = deal_money(deal)
    if amount > 0:
        if deal.status == LOST:
            raise ValidationError("The deal is lost: only refunds can be recorded.")
        if amount > money.due:
            raise ValidationError({"amount": f"That is more than the {money.due:.2f} still due."})
    elif -amount > money.paid:
        raise ValidationError({"amount": f"A refund cannot exceed what was paid ({money.paid:.2f})."})
    lines = list(deal.lines.select_related("product").order_by("pk"))
    nets = [line_net(line) for line in lines]
    if sum(nets, ZERO) <= 0:
        raise ValidationError("The deal has no product lines with an amount to pay for.")
    payment = Payment(deal=deal, date=date, amount=amount, note=(note or "").strip(), recorded_by=actor)
    payment.full_clean()
    payment.save()
    document = (deal.invoice_number or f"DEAL-{deal.pk}")[:64]
    bought = []
    for line, net, share in zip(lines, nets, split_amount(amount, nets), strict=True):
        if share == 0:
            continue
        quantity = (Decimal(line.quantity) * share / net).quantize(Decimal("0.001")) if net else Decimal(0)
        _ledger_line_create(
            date=date,
            customer_id=deal.customer_id,
            product_id=line.product_id,
            quantity=quantity,
            amount=share,
            cost=line_cost(line.product.standard_cost, quantity),
            manager_id=deal.manager_id,
            document=document,
            source_key=f"payment:{payment.pk}:{line.pk}",
        )
        if share > 0:
            bought.append((deal.customer_id, line.product_id))
    # Paid is bought: the products are in use from this payment (product_usage), in this transaction.
    product_usage_mark(pairs=bought, user=actor, reason=f"Payment for deal #{deal.pk}")
    return payment


def line_cost(standard_cost: Decimal | None, quantity: Decimal) -> Decimal | None:
    """A ledger line's cost: the product's standard cost per unit times the line's quantity
    (negative on a refund), to the ledger's four places; None when the product has none."""
    if standard_cost is None:
        return None
    return (Decimal(standard_cost) * quantity).quantize(Decimal(1).scaleb(-MONEY_PLACES))


def days_in_current_stage(deal: Deal, today: date | None = None) -> int:
    """Calendar days since the deal entered its stage."""
    today = today or timezone.localdate()
    return max((today - timezone.localdate(deal.stage_entered_at)).days, 0)
