"""A deal's timeline: stage moves, payments, documents and contract changes, newest first."""

from datetime import datetime, time

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Deal

OPEN = Deal.Status.OPEN


def deal_timeline(deal, changes, payments, docs, contract_changes) -> list[dict]:
    """Stage moves, payments, documents and contract changes, newest first."""
    events = []
    for change in changes:
        stages = {"stage": change.get_to_stage_display()}
        if change.from_stage is None:
            text = _("Opened at %(stage)s") % stages
        elif change.to_status == Deal.Status.WON:
            text = _("Won at %(stage)s") % stages
        elif change.to_status != OPEN:
            text = _("Lost at %(stage)s") % stages
        else:
            stages = {"from": change.get_from_stage_display(), "to": change.get_to_stage_display()}
            if change.to_stage < change.from_stage:
                text = _("Moved back from %(from)s to %(to)s") % stages
            else:
                text = _("Moved on from %(from)s to %(to)s") % stages
        if change.from_stage is not None:
            days = change.days_in_stage
            text += " " + ngettext("after %(days)s day", "after %(days)s days", days) % {"days": days}
        events.append({"when": change.changed_at, "kind": "stage", "text": text, "who": change.changed_by})
    for payment in payments:
        what = _("Refund of %(amount)s") if payment.amount < 0 else _("Payment of %(amount)s")
        note = f" ({payment.note})" if payment.note else ""
        events.append(
            {
                "when": _day_start(payment.date, payment.created_at),
                "kind": "payment",
                "text": (what % {"amount": number_format(abs(payment.amount), 2)}) + note,
                "who": payment.recorded_by,
            }
        )
    for document in docs:
        sent = (
            ", " + _("sent %(date)s") % {"date": date_format(document.sent_date, "d M Y")} if document.sent_date else ""
        )
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
                "text": _("Contract changed: %(note)s") % {"note": change.note},
                "who": None,
            }
        )
    if deal.status == Deal.Status.LOST and deal.lost_reason_id:
        events.append(
            {
                "when": deal.closed_at,
                "kind": "lost",
                "text": _("Reason: %(reason)s — %(comment)s")
                % {"reason": deal.lost_reason, "comment": deal.lost_comment},
                "who": None,
            }
        )
    return sorted(events, key=lambda event: event["when"], reverse=True)


def _day_start(day, fallback):
    """A payment or contract change has a day: sort it at its recording time if that
    was the same day, else at noon of the day."""
    moment = timezone.make_aware(datetime.combine(day, time(12)))
    return fallback if fallback and timezone.localdate(fallback) == day else moment
