"""A deal's timeline: stage moves, payments, documents and contract changes, newest first."""

from datetime import datetime, time

from django.utils import timezone

from .models import Deal

OPEN = Deal.Status.OPEN


def deal_timeline(deal, changes, payments, docs, contract_changes) -> list[dict]:
    """Stage moves, payments, documents and contract changes, newest first."""
    events = []
    for change in changes:
        if change.from_stage is None:
            text = f"Opened at {change.get_to_stage_display()}"
        elif change.to_status != OPEN:
            text = f"{change.get_to_status_display()} at {change.get_to_stage_display()}"
        else:
            direction = "back" if change.to_stage < change.from_stage else "on"
            text = f"Moved {direction} from {change.get_from_stage_display()} to {change.get_to_stage_display()}"
        if change.from_stage is not None:
            text += f" after {change.days_in_stage} day{'s' if change.days_in_stage != 1 else ''}"
        events.append({"when": change.changed_at, "kind": "stage", "text": text, "who": change.changed_by})
    for payment in payments:
        what = "Refund" if payment.amount < 0 else "Payment"
        note = f" ({payment.note})" if payment.note else ""
        events.append(
            {
                "when": _day_start(payment.date, payment.created_at),
                "kind": "payment",
                "text": f"{what} of {abs(payment.amount):.2f}{note}",
                "who": payment.recorded_by,
            }
        )
    for document in docs:
        sent = f", sent {document.sent_date:%d %b %Y}" if document.sent_date else ""
        events.append(
            {
                "when": document.created_at,
                "kind": "document",
                "text": f"{document.title}{sent}",
                "who": document.uploaded_by,
            }
        )
    for change in contract_changes:
        events.append(
            {
                "when": _day_start(change.date, None),
                "kind": "contract",
                "text": f"Contract changed: {change.note}",
                "who": None,
            }
        )
    if deal.status == Deal.Status.LOST and deal.lost_reason_id:
        events.append(
            {
                "when": deal.closed_at,
                "kind": "lost",
                "text": f"Reason: {deal.lost_reason} — {deal.lost_comment}",
                "who": None,
            }
        )
    return sorted(events, key=lambda event: event["when"], reverse=True)


def _day_start(day, fallback):
    """A payment or contract change has a day: sort it at its recording time if that
    was the same day, else at noon of the day."""
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    return fallback if fallback and timezone.localdate(fallback) == day else moment
