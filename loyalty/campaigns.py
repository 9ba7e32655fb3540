"""Retention campaigns: a saved customer filter, a series of messages sent by e-mail through
Django's mail system, drop-out on purchase or opt-out, tracked responses.

Each message to a member for a step is a row (unique per step and member) written before
anything is sent and claimed (pending -> sending) by one UPDATE before the mail goes out: a
retried or duplicated task finds it claimed and never sends it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Count, F, Q
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project import mail_retry
from crm_project.dates import business_today, months_before
from customers.access import sees_everything
from customers.models import Customer
from sales_pipeline.selectors import MONEY_UNIT, day_sums
from segmentation.models import CustomerSnapshot

from .models import Campaign, CampaignMember, CampaignMessage, CampaignStep, OptOut

TRACK_SALT = "loyalty.campaign.track"
UNSUBSCRIBE_SALT = "loyalty.campaign.unsubscribe"


def audience(campaign: Campaign, *, today: date):
    """The customers the campaign's saved filter picks today: lifecycle status and ABC class
    in the latest snapshot, no purchase for N months; never those who opted out."""
    customers = Customer.objects.exclude(loyalty_opt_out__isnull=False)
    as_of = CustomerSnapshot.objects.latest_date()
    if campaign.statuses or campaign.classes:
        snapshots = CustomerSnapshot.objects.filter(as_of=as_of)
        if campaign.statuses:
            snapshots = snapshots.filter(status__in=campaign.statuses)
        if campaign.classes:
            snapshots = snapshots.filter(abc__in=campaign.classes)
        customers = customers.filter(pk__in=snapshots.values("customer_id"))
    if campaign.no_purchase_months:
        since = months_before(today, campaign.no_purchase_months)
        recent = day_sums(start=since + timedelta(days=1), end=today).filter(positive_lines__gt=0)
        customers = customers.exclude(pk__in=recent.values("customer_id"))
    return customers


@dataclass
class AudienceCount:
    total: int  # whom the campaign would reach: every customer the filter picks
    visible: int | None  # of them, those the viewer may see (None: the viewer sees everyone)


def audience_count(campaign: Campaign, *, user, today: date) -> AudienceCount:
    """How many customers the campaign's filter (saved or as entered) picks today, for the
    preview; two counts in one query."""
    picked = audience(campaign, today=today)
    if sees_everything(user):
        return AudienceCount(picked.count(), None)
    counts = picked.aggregate(
        total=Count("pk"), visible=Count("pk", filter=Q(pk__in=Customer.objects.visible_to(user).values("pk")))
    )
    return AudienceCount(counts["total"], counts["visible"])


@transaction.atomic
def campaign_start(*, campaign: Campaign, today: date | None = None, actor=None) -> int:
    """Freeze the audience as the campaign's members and start the series; returns the
    number of members. Only a draft with at least one step starts."""
    today = today or business_today()
    given, campaign = campaign, Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(_("Only a draft campaign can be started."))
    if not campaign.steps.exists():
        raise ValidationError(_("Add at least one message step first."))
    members = [
        CampaignMember(campaign=campaign, customer_id=pk, joined_on=today)
        for pk in audience(campaign, today=today).values_list("pk", flat=True)
    ]
    CampaignMember.objects.bulk_create(members, ignore_conflicts=True)
    campaign.status, campaign.started_on = Campaign.Status.RUNNING, today
    campaign.save(update_fields=["status", "started_on"])
    given.status, given.started_on = campaign.status, campaign.started_on
    return len(members)


@transaction.atomic
def campaign_save(*, campaign: Campaign, steps: list[dict], actor=None) -> Campaign:
    """Save a draft campaign (new or edited: its name and saved filter) with its steps in
    the order given ({"delay_days", "subject", "body"}), numbered 1, 2, ...; steps left
    out are deleted. Only a draft can be edited: a running series keeps what it sends."""
    if campaign.pk:
        status = Campaign.objects.select_for_update().values_list("status", flat=True).get(pk=campaign.pk)
        if status != Campaign.Status.DRAFT:
            raise ValidationError(_("Only a draft campaign can be edited."))
    elif actor is not None:
        campaign.created_by = actor
    if not steps:
        raise ValidationError(_("Give at least one message step."))
    campaign.status = Campaign.Status.DRAFT
    campaign.full_clean()
    campaign.save()
    # A draft has sent nothing: its steps are simply written again in the new order.
    campaign.steps.all().delete()
    CampaignStep.objects.bulk_create(
        [CampaignStep(campaign=campaign, position=number, **row) for number, row in enumerate(steps, start=1)]
    )
    return campaign


@transaction.atomic
def campaign_stop(*, campaign: Campaign, today: date | None = None, actor=None) -> int:
    """Stop a running campaign now: nothing more is sent (messages not yet sent are
    withdrawn; the results so far stay). Returns the number of messages withdrawn."""
    today = today or business_today()
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != Campaign.Status.RUNNING:
        raise ValidationError(_("Only a running campaign can be stopped."))
    withdrawn, _by_model = CampaignMessage.objects.filter(
        step__campaign=locked, status=CampaignMessage.Status.PENDING
    ).delete()
    locked.status, locked.finished_on = Campaign.Status.STOPPED, today
    locked.save(update_fields=["status", "finished_on"])
    campaign.status, campaign.finished_on = locked.status, locked.finished_on
    return withdrawn


def step_due_dates(campaign: Campaign, steps: list[CampaignStep]) -> dict[int, date]:
    """Each step's send date: the start plus the delays of the steps up to it."""
    due, day = {}, campaign.started_on
    for step in sorted(steps, key=lambda s: s.position):
        day = day + timedelta(days=step.delay_days)
        due[step.pk] = day
    return due


def opt_out(*, customer_id: int) -> None:
    """The customer wants no more campaign messages: every campaign drops them."""
    OptOut.objects.get_or_create(customer_id=customer_id)
    CampaignMember.objects.filter(customer_id=customer_id, dropped="").update(
        dropped=CampaignMember.Dropped.OPTED_OUT, dropped_on=business_today()
    )


def _drop_members(campaign: Campaign, today: date) -> None:
    active = campaign.members.filter(dropped="")
    bought = day_sums(start=campaign.started_on + timedelta(days=1), end=today).filter(
        positive_lines__gt=0, customer_id__in=active.values("customer_id")
    )
    active.filter(customer_id__in=bought.values("customer_id")).update(
        dropped=CampaignMember.Dropped.BOUGHT, dropped_on=today
    )
    active.filter(customer__loyalty_opt_out__isnull=False).update(
        dropped=CampaignMember.Dropped.OPTED_OUT, dropped_on=today
    )


def campaigns_send_due(*, campaign_id: int | None = None, today: date | None = None) -> int:
    """For every running campaign (or one): drop members who bought or opted out, write the
    messages of the steps that are due, send what is pending; finish a campaign whose last
    step is done. Returns the number of messages sent."""
    today = today or business_today()
    running = Campaign.objects.filter(status=Campaign.Status.RUNNING)
    if campaign_id is not None:
        running = running.filter(pk=campaign_id)
    sent = 0
    for campaign in running:  # a handful of campaigns at a time
        with transaction.atomic():
            _drop_members(campaign, today)
            steps = list(campaign.steps.all())
            due = step_due_dates(campaign, steps)
            for step in steps:
                if due[step.pk] > today:
                    continue
                # Members who were still in when the step came due; one bulk insert per step.
                CampaignMessage.objects.bulk_create(
                    [
                        CampaignMessage(step=step, member_id=pk)
                        for pk in campaign.members.filter(dropped="").values_list("pk", flat=True)
                    ],
                    ignore_conflicts=True,
                )
        sent += _send_pending(campaign, today)
        if (
            all(day <= today for day in due.values())
            and not CampaignMessage.objects.filter(
                step__campaign=campaign, status__in=[CampaignMessage.Status.PENDING, CampaignMessage.Status.RETRY]
            ).exists()
        ):
            Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED, finished_on=today)
    return sent


def messages_send_again(messages) -> int:
    """Put campaign messages whose sending failed, or was left "sending" by a worker that
    died, back in the queue with a fresh budget of attempts, for campaigns still running
    and members still in them: the next run sends them. An administrator's decision, since
    a "sending" message may already have reached the customer. Returns how many."""
    Status = CampaignMessage.Status
    return messages.filter(
        status__in=[Status.SENDING, Status.FAILED], step__campaign__status=Campaign.Status.RUNNING,
        member__dropped="", member__customer__loyalty_opt_out__isnull=True,
    ).update(status=Status.PENDING, attempts=0, next_attempt_at=None, error="")


def _send_pending(campaign: Campaign, today: date) -> int:
    now = timezone.now()
    Status = CampaignMessage.Status
    waiting = CampaignMessage.objects.filter(step__campaign=campaign).filter(
        Q(status=Status.PENDING) | Q(status=Status.RETRY, next_attempt_at__lte=now)
    )
    # Dropped or opted out since the rows were written (a minute ago): never mailed. One
    # statement for all of them, before any mail goes out.
    waiting.filter(Q(member__dropped__gt="") | Q(member__customer__loyalty_opt_out__isnull=False)).update(
        status=Status.FAILED, error=_("Dropped out before sending")
    )
    pending = list(waiting.select_related("step", "member__customer").order_by("pk"))
    sent = 0
    connection = get_connection()
    for message in pending:
        # claimed (and committed) before the send: another worker, or a rerun, skips it
        claimed = CampaignMessage.objects.filter(pk=message.pk, status=message.status).update(
            status=Status.SENDING, attempts=F("attempts") + 1
        )
        if not claimed:
            continue
        attempts = message.attempts + 1
        customer = message.member.customer
        try:
            if not customer.email:
                raise ValueError(_("The customer has no e-mail address."))
            email = EmailMessage(
                subject=message.step.subject,
                body=render_body(message),
                to=[customer.email],
                connection=connection,
                headers={"Message-ID": mail_retry.message_id("campaign-message", message.pk, mail_retry.site_domain())},
            )
            mail_retry.send_accepted(email, connection)
        except Exception as error:  # noqa: BLE001 - any mail failure is recorded on the row
            if mail_retry.is_transient(error) and attempts < mail_retry.MAX_ATTEMPTS:
                retry_at = timezone.now() + mail_retry.backoff(attempts)
                CampaignMessage.objects.filter(pk=message.pk).update(
                    status=Status.RETRY, error=str(error)[:300], next_attempt_at=retry_at
                )
            else:
                CampaignMessage.objects.filter(pk=message.pk).update(status=Status.FAILED, error=str(error)[:300])
            continue
        CampaignMessage.objects.filter(pk=message.pk).update(
            status=Status.SENT, sent_at=timezone.now(), sent_on=today, error="", next_attempt_at=None
        )
        sent += 1
    return sent


def track_token(message_id: int) -> str:
    return signing.dumps(message_id, salt=TRACK_SALT)


def unsubscribe_token(customer_id: int) -> str:
    return signing.dumps(customer_id, salt=UNSUBSCRIBE_SALT)


def read_token(token: str, *, salt: str) -> int | None:
    try:
        return int(signing.loads(token, salt=salt))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def render_body(message: CampaignMessage) -> str:
    base = settings.SITE_URL.rstrip("/")
    customer = message.member.customer
    link = base + reverse("loyalty:campaign_track", args=[track_token(message.pk)])
    unsubscribe = base + reverse("loyalty:unsubscribe", args=[unsubscribe_token(customer.pk)])
    body = Template(message.step.body).render(Context({"customer": customer, "link": link}))
    footer = _("To receive no more of these messages: %(link)s") % {"link": unsubscribe}
    return f"{body}\n\n--\n{footer}\n"


def record_response(*, message_id: int) -> None:
    CampaignMessage.objects.filter(pk=message_id, responded_at__isnull=True).update(responded_at=timezone.now())


@dataclass
class StepResult:
    step: CampaignStep
    due: date | None
    sent: int
    failed: int
    responded: int
    buyers: int
    revenue: Decimal


def campaign_results(campaign: Campaign, *, today: date | None = None) -> list[StepResult]:
    """Per step: messages sent, failed, responded (tracked link opened), and the members who
    bought after receiving it with what they spent (net, up to today)."""
    today = today or business_today()
    steps = list(campaign.steps.all())
    counts = {
        row["step_id"]: row
        for row in CampaignMessage.objects.filter(step__campaign=campaign)
        .values("step_id")
        .annotate(
            sent=Count("pk", filter=Q(status=CampaignMessage.Status.SENT)),
            failed=Count("pk", filter=Q(status=CampaignMessage.Status.FAILED)),
            responded=Count("pk", filter=Q(responded_at__isnull=False)),
        )
        .order_by()
    }
    sent_days = list(
        CampaignMessage.objects.filter(step__campaign=campaign, status=CampaignMessage.Status.SENT).values_list(
            "step_id", "member__customer_id", "sent_on"
        )
    )
    purchases = {}
    if campaign.started_on and sent_days:
        rows = (
            day_sums(start=campaign.started_on, end=today)
            .filter(customer_id__in=campaign.members.values("customer_id"))
            .values_list("customer_id", "date", "amount")
        )
        for customer_id, day, amount in rows:
            purchases.setdefault(customer_id, []).append((day, amount))
    per_step: dict[int, tuple[set, int]] = {}
    for step_id, customer_id, sent_on in sent_days:
        after = [amount for day, amount in purchases.get(customer_id, []) if day >= sent_on]
        buyers, revenue = per_step.get(step_id, (set(), 0))
        if after:
            buyers.add(customer_id)
            revenue += sum(after)
        per_step[step_id] = (buyers, revenue)
    due = step_due_dates(campaign, steps) if campaign.started_on else {}
    results = []
    for step in steps:
        row = counts.get(step.pk, {})
        buyers, revenue = per_step.get(step.pk, (set(), 0))
        results.append(
            StepResult(
                step,
                due.get(step.pk),
                row.get("sent", 0),
                row.get("failed", 0),
                row.get("responded", 0),
                len(buyers),
                Decimal(revenue) / MONEY_UNIT,
            )
        )
    return results
