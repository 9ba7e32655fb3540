"""Every change of a deal, through the six-stage pipeline's rules (sales_pipeline.deal_rules).

Every change is a keyword-only, atomic function below; each writes the deal's history
row (simple_history, with the acting user) and each stage or status change writes one
StageChange. Payments write the ledger through sales_pipeline.services.ledger. Views,
the demo, the bench and tests all go through these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from crm_project.dates import business_today
from customers.models import Customer, CustomerProduct, PlannedContact
from customers.portrait import product_status_set
from customers.services.profiles import customers_reassign

from ..deal_rules import (
    CENT,
    EDITABLE_FIELDS,
    ZERO,
    deal_money,
    line_cost,
    line_net,
    lines_total,
    missing_message,
    missing_to_leave,
    split_amount,
)
from ..models import ContractChange, Deal, DealLine, Payment, RefusalReason, SettlementLine, Stage, StageChange
from . import ledger

OPEN, WON, LOST = Deal.Status.OPEN, Deal.Status.WON, Deal.Status.LOST

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
    A customer in the unassigned pool becomes `manager`'s (customers_reassign, with
    history). Called by the deal create page and the demo."""
    at = _now(at)
    # Locked, so two deals opened at once on one pool customer give it to one manager.
    current = Customer.objects.select_for_update().only("pk", "manager_id").get(pk=customer.pk)
    if current.manager_id is None:
        # A pool customer becomes the deal manager's (domain.md section 1: deals are not the pool's).
        customers_reassign(customers=[customer], manager=manager, actor=actor, reason="assigned by a new deal")
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


def deals_follow_customers(*, customer_ids: list[int], actor, reason: str) -> int:
    """The open deals of customers just reassigned go to the customer's new manager, with
    a history row each (`actor`, `reason`); won and lost deals keep the manager who
    worked them, and pool customers' deals stay where they are. Registered as
    hooks.CUSTOMERS_REASSIGNED, so customers.services.customers_reassigned (the one
    reassignment rule) calls it inside its transaction. Returns how many deals moved."""
    moved = 0
    for start in range(0, len(customer_ids), 500):
        deals = list(
            Deal.objects.select_for_update(of=("self",))
            .filter(customer_id__in=customer_ids[start : start + 500], status=OPEN, customer__manager__isnull=False)
            .exclude(manager=F("customer__manager"))
            .annotate(new_manager_id=F("customer__manager"))
            .order_by("pk")
        )
        for deal in deals:
            deal.manager_id = deal.new_manager_id
        if deals:
            bulk_update_with_history(
                deals, Deal, ["manager"], batch_size=500, default_user=actor, default_change_reason=reason
            )
        moved += len(deals)
    return moved


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


def _already_closed(deal: Deal) -> str:
    """Why a won or lost deal cannot be closed again."""
    if deal.status == Deal.Status.WON:
        return _("The deal is won already.")
    return _("The deal is lost already.")


@transaction.atomic
def deal_lines_set(*, deal: Deal, lines: list[dict], actor) -> Deal:
    """Replace the deal's product lines and recompute its amount. The amount may not drop
    below what was paid (record a refund first). Called by the deal edit page."""
    deal = _locked(deal)
    if deal.status != OPEN:
        raise ValidationError(_("A closed deal's products cannot change."))
    _write_lines(deal, lines)
    paid = deal_money(deal).paid
    if deal.amount < paid:
        raise ValidationError(
            _("The lines add up to %(amount)s, less than the %(paid)s paid: refund first.")
            % {"amount": number_format(deal.amount, 2), "paid": number_format(paid, 2)}
        )
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
        errors["offer_expires"] = _("The offer cannot expire before it was sent.")
    if deal.invoice_date and deal.invoice_expires and deal.invoice_expires < deal.invoice_date:
        errors["invoice_expires"] = _("The invoice cannot expire before its date.")
    if deal.closing_grade is not None and not 1 <= deal.closing_grade <= 5:
        errors["closing_grade"] = _("The grade is 1 to 5.")
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
        raise ValidationError(_("Record the signed contract first."))
    if date < deal.contract_signed:
        raise ValidationError({"date": _("A change cannot predate the contract.")})
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
        if deal.status == Deal.Status.WON:
            raise ValidationError(_("The deal is won: it no longer moves."))
        raise ValidationError(_("The deal is lost: it no longer moves."))
    if to_stage not in Stage.values:
        raise ValidationError(_("No such stage."))
    if to_stage == deal.stage:
        raise ValidationError(_("The deal is at %(stage)s already.") % {"stage": Stage(to_stage).label})
    if to_stage > deal.stage + 1:
        raise ValidationError(
            _("Deals move forward one stage at a time: next is %(stage)s.") % {"stage": Stage(deal.stage + 1).label}
        )
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
        raise ValidationError(_already_closed(deal))
    errors = {}
    if reason.stage != deal.stage:
        errors["reason"] = _("Pick a reason of the %(stage)s stage.") % {"stage": Stage(deal.stage).label}
    elif not reason.is_active:
        errors["reason"] = _("This reason is no longer in use.")
    comment = (comment or "").strip()
    if not comment:
        errors["comment"] = _("Say in a few words what happened.")
    if retry_date is not None and deal.stage != Stage.PRESENTATION:
        errors["retry_date"] = "A retry date belongs to a lost presentation."
    elif retry_date is not None and retry_date <= today:
        errors["retry_date"] = _("Pick a day after today.")
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
        raise ValidationError(_already_closed(deal))
    if deal.stage != Stage.CLOSING:
        raise ValidationError(_("A deal is closed from the %(stage)s stage.") % {"stage": Stage.CLOSING.label})
    missing = missing_to_leave(deal, today=timezone.localdate(at))
    if missing:
        raise ValidationError(missing_message(deal, Stage.CLOSING, missing))
    if grade is not None and not 1 <= grade <= 5:
        raise ValidationError({"closing_grade": _("The grade is 1 to 5.")})
    if deal.next_contact < timezone.localdate(at):
        raise ValidationError({"next_contact": _("The next contact cannot be in the past.")})
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
        purpose=(_("Follow-up after the deal “%(title)s”") % {"title": deal.title})[:200],
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
        raise ValidationError({"amount": _("Give the amount in whole cents.")})
    amount = amount.quantize(CENT)  # 500.0000 is 500.00
    if amount == 0:
        raise ValidationError({"amount": _("The amount cannot be zero.")})
    if date > business_today():
        raise ValidationError({"date": _("A payment is recorded once it has arrived: the date is in the future.")})
    if deal.stage < Stage.PAYMENT:
        raise ValidationError(_("Payments are recorded from the %(stage)s stage on.") % {"stage": Stage.PAYMENT.label})
    money = deal_money(deal)
    if amount > 0:
        if deal.status == LOST:
            raise ValidationError(_("The deal is lost: only refunds can be recorded."))
        if amount > money.due:
            raise ValidationError(
                {"amount": _("That is more than the %(due)s still due.") % {"due": number_format(money.due, 2)}}
            )
    elif -amount > money.paid:
        raise ValidationError(
            {"amount": _("A refund cannot exceed what was paid (%(paid)s).") % {"paid": number_format(money.paid, 2)}}
        )
    lines = list(deal.lines.select_related("product").order_by("pk"))
    nets = [line_net(line) for line in lines]
    if sum(nets, ZERO) <= 0:
        raise ValidationError(_("The deal has no product lines with an amount to pay for."))
    payment = Payment(deal=deal, date=date, amount=amount, note=(note or "").strip(), recorded_by=actor)
    payment.full_clean()
    payment.save()
    document = (deal.invoice_number or f"DEAL-{deal.pk}")[:64]
    ledger_lines = []
    for line, net, share in zip(lines, nets, split_amount(amount, nets), strict=True):
        if share == 0:
            continue
        quantity = (Decimal(line.quantity) * share / net).quantize(Decimal("0.001")) if net else Decimal(0)
        ledger_lines.append(SettlementLine(
            date=date,
            customer_id=deal.customer_id,
            product_id=line.product_id,
            quantity=quantity,
            amount=share,
            cost=line_cost(line.product.standard_cost, quantity),
            manager_id=deal.manager_id,
            document=document,
            source_key=f"payment:{payment.pk}:{line.pk}",
        ))
    # Paid is bought: the ledger marks the products in use, in this transaction.
    ledger.lines_create(ledger_lines, user=actor, reason=f"Payment for deal #{deal.pk}")
    return payment


