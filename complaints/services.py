"""Every write of the complaints app: keyword-only, atomic, one audit row per complaint
move (ComplaintTransition). Pages, commands, tasks and the demo all come through here."""

import secrets
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_project import mail_retry
from crm_project.dates import business_today
from customers.models import Contact, Customer, Product
from sales_pipeline.documents import check_upload
from sales_pipeline.models import Deal

from . import satisfaction, selectors, sla, workflow
from .models import (
    Answer,
    Complaint,
    ComplaintAttachment,
    ComplaintTransition,
    NonWorkingDay,
    Questionnaire,
    Response,
    SlaRule,
    Step,
    Survey,
    SurveySettings,
)

# Severity of the complaints a survey (or a deal's closing grade) opens by itself.
AUTO_SEVERITY = {satisfaction.EXPLICIT: "high", satisfaction.HIDDEN: "medium"}
COMPLAINT_FIELDS = {
    "cause",
    "cause_category",
    "action",
    "process_change",
    "efficacy_check_date",
    "efficacy_result",
    "efficacy_ok",
}

# What to tell people when a step misses something (complaints.workflow.missing_to_enter).
MISSING_MESSAGES = {
    ("cause", workflow.REQUIRED): gettext_lazy("Write down the cause that was found."),
    ("cause_category", workflow.REQUIRED): gettext_lazy("Choose the cause category."),
    ("action", workflow.REQUIRED): gettext_lazy("Write down what was done to eliminate the cause."),
    ("process_change", workflow.REQUIRED): gettext_lazy(
        "Write down what in the process changed so that it cannot happen again."
    ),
    ("efficacy_check_date", workflow.REQUIRED): gettext_lazy("Set the date on which to check that the fix worked."),
    ("efficacy_check_date", workflow.NOT_YET_DUE): gettext_lazy(
        "The efficacy check is due on a later date: close the complaint then."
    ),
    ("efficacy_result", workflow.REQUIRED): gettext_lazy("Write down what the efficacy check found."),
    ("efficacy_ok", workflow.NOT_CONFIRMED): gettext_lazy(
        "Close only once the check confirms the fix worked; otherwise reopen the complaint."
    ),
}


class SurveyRefused(ValidationError):
    """A survey that may not be created (no questionnaire, minimum interval)."""


class SurveyNotSent(SurveyRefused):
    """The survey exists but its e-mail did not go out now: it waits for a retry, or it
    failed (Survey.delivery says which); `reason` is what the mail system said."""

    def __init__(self, message, *, reason: str = ""):
        super().__init__(message)
        self.reason = reason


#
# SLA
#


def non_working_days() -> set[date]:
    return set(NonWorkingDay.objects.values_list("date", flat=True))


def sla_days(severity: str, step: str) -> int | None:
    """Working days a complaint of `severity` may spend in `step` (None: a closed one has no deadline)."""
    if step == workflow.CLOSED:
        return None
    rule = SlaRule.objects.filter(severity=severity, step=step).values_list("working_days", flat=True).first()
    return rule if rule is not None else sla.DEFAULT_DAYS[severity][step]


def step_deadline(*, severity: str, step: str, start: date, holidays=None) -> date | None:
    days = sla_days(severity, step)
    if days is None:
        return None
    return sla.add_working_days(start, days, non_working_days() if holidays is None else holidays)


#
# Complaints
#


def _transition(complaint, *, from_step, to_step, actor, text, today, is_reopen=False, at=None):
    late = bool(from_step and complaint.step_deadline and today > complaint.step_deadline)
    return ComplaintTransition.objects.create(
        complaint=complaint,
        from_step=from_step,
        to_step=to_step,
        by=actor,
        at=at or timezone.now(),
        text=text,
        deadline=complaint.step_deadline if from_step else None,
        late=late,
        is_reopen=is_reopen,
    )


@transaction.atomic
def complaint_register(
    *,
    customer,
    owner,
    description: str,
    actor,
    severity: str = "medium",
    channel: str = Complaint.Channel.PHONE,
    contact=None,
    product=None,
    deal=None,
    kind: str = Complaint.Kind.REGISTERED,
    response: Response | None = None,
    attachments=(),
    today: date | None = None,
    at: datetime | None = None,
) -> Complaint:
    """Register a complaint at its first step, with its deadline, its audit row and its
    checked attachments (one bad file: nothing is saved)."""
    today = today or business_today()
    if not (description or "").strip():
        raise ValidationError({"description": _("Describe the complaint.")})
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("The contact is not one of this customer's.")})
    if deal is not None and deal.customer_id != customer.pk:
        raise ValidationError({"deal": _("The deal is not one of this customer's.")})
    for upload in attachments:
        check_upload(upload)
    complaint = Complaint(
        customer=customer,
        contact=contact,
        channel=channel,
        product=product,
        deal=deal,
        description=description.strip(),
        severity=severity,
        kind=kind,
        owner=owner,
        response=response,
        created_by=actor,
        step=Step.REGISTERED,
        step_started=today,
        step_deadline=step_deadline(severity=severity, step=workflow.REGISTERED, start=today),
        registered_at=at or timezone.now(),
    )
    complaint.full_clean(exclude=["customer", "owner", "product", "deal", "contact", "response"])
    complaint.save()
    _transition(complaint, from_step="", to_step=Step.REGISTERED, actor=actor, text=complaint.description,
                today=today, at=at)
    for upload in attachments:
        attachment_add(complaint=complaint, upload=upload, actor=actor)
    return complaint


def _locked(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _facts(complaint: Complaint) -> workflow.Facts:
    return workflow.Facts(
        cause=complaint.cause,
        cause_category_id=complaint.cause_category_id,
        action=complaint.action,
        process_change=complaint.process_change,
        efficacy_check_date=complaint.efficacy_check_date,
        efficacy_result=complaint.efficacy_result,
        efficacy_ok=complaint.efficacy_ok,
    )


@transaction.atomic
def complaint_advance(
    *, complaint: Complaint, actor, changes: dict | None = None, text: str = "", today: date | None = None,
    at: datetime | None = None,
) -> Complaint:
    """Move the complaint to its next step after writing `changes` (the step's texts and
    dates). Refused, with nothing saved, while the next step misses what it needs
    (complaints.workflow.missing_to_enter)."""
    today = today or business_today()
    changes = changes or {}
    unknown = set(changes) - COMPLAINT_FIELDS
    if unknown:
        raise ValueError(f"not a step field: {sorted(unknown)}")
    complaint = _locked(complaint)
    target = workflow.next_step(complaint.step)
    if target is None:
        raise ValidationError(_("The complaint is closed: reopen it to work on it again."))
    for name, value in changes.items():
        setattr(complaint, name, value.strip() if isinstance(value, str) else value)
    missing = workflow.missing_to_enter(target, _facts(complaint), today=today)
    if missing:
        raise ValidationError({field: str(MISSING_MESSAGES[(field, why)]) for field, why in missing.items()})
    from_step = complaint.step
    _transition(complaint, from_step=from_step, to_step=target, actor=actor, text=(text or "").strip(), today=today,
                at=at)
    complaint.step = target
    complaint.step_started = today
    complaint.step_deadline = step_deadline(severity=complaint.severity, step=target, start=today)
    if target == workflow.CLOSED:
        complaint.closed_at = at or timezone.now()
    complaint.save()
    return complaint


@transaction.atomic
def complaint_reopen(*, complaint: Complaint, actor, text: str, today: date | None = None,
                     at: datetime | None = None) -> Complaint:
    """Send a closed (or process-fixed) complaint back to investigating: the fix did not
    hold. The reason is required; the count of reopenings goes up."""
    today = today or business_today()
    if not (text or "").strip():
        raise ValidationError({"text": _("Say why the complaint is reopened.")})
    complaint = _locked(complaint)
    if not workflow.can_reopen(complaint.step):
        raise ValidationError(_("Only a complaint whose process was fixed, or a closed one, can be reopened."))
    _transition(complaint, from_step=complaint.step, to_step=Step.INVESTIGATING, actor=actor, text=text.strip(),
                today=today, is_reopen=True, at=at)
    complaint.step = Step.INVESTIGATING
    complaint.step_started = today
    complaint.step_deadline = step_deadline(severity=complaint.severity, step=workflow.INVESTIGATING, start=today)
    complaint.reopen_count += 1
    complaint.closed_at = None
    complaint.efficacy_ok = None
    complaint.efficacy_result = ""
    complaint.save()
    return complaint


@transaction.atomic
def attachment_add(*, complaint: Complaint, upload, actor, title: str = "") -> ComplaintAttachment:
    """Attach a file after the deal documents' check (size, type, content)."""
    check_upload(upload)
    attachment = ComplaintAttachment(
        complaint=complaint, title=(title or Path(upload.name).name)[:200], uploaded_by=actor
    )
    attachment.file.save(Path(upload.name).name, upload, save=False)
    attachment.save()
    return attachment


def _fallback_owner():
    # A pool customer has no manager: an administrator takes the complaint rather than no one.
    users = get_user_model().objects.filter(is_active=True)
    return users.filter(is_superuser=True).order_by("pk").first() or users.order_by("pk").first()


#
# Surveys
#


def questionnaire_for(product) -> Questionnaire | None:
    """The product's own active questionnaire, else its line's."""
    own = Questionnaire.objects.filter(is_active=True, product=product).first()
    if own is not None or product.line_id is None:
        return own
    return Questionnaire.objects.filter(is_active=True, product_line_id=product.line_id).first()


def last_survey_day(customer) -> date | None:
    last = Survey.objects.filter(customer=customer).order_by("-created_at").values_list("created_at", flat=True).first()
    return timezone.localdate(last) if last else None


def public_link(token: str, *, base_url: str | None = None) -> str:
    base = (base_url or settings.SITE_URL).rstrip("/")
    return base + reverse("survey:public", args=[token])


@transaction.atomic
def survey_create(
    *,
    customer,
    product,
    actor=None,
    channel: str = Survey.Channel.EMAIL,
    contact=None,
    deal=None,
    reason: str = Survey.Reason.MANUAL,
    today: date | None = None,
) -> tuple[Survey, str | None]:
    """A survey of `customer` about `product`, and for the e-mail channel its single-use
    token (returned once, stored hashed). Refused when the product has no questionnaire or
    the customer was surveyed within the minimum interval."""
    today = today or business_today()
    questionnaire = questionnaire_for(product)
    if questionnaire is None or not questionnaire.questions.filter(is_active=True).exists():
        message = _("%(product)s has no questionnaire yet: an administrator adds one.")
        raise SurveyRefused(message % {"product": product})
    survey_settings = SurveySettings.current()
    # Locks the customer's row so two concurrent requests cannot both pass the interval check.
    type(customer).objects.select_for_update().filter(pk=customer.pk).first()
    last = last_survey_day(customer)
    if not satisfaction.interval_allows(last, today=today, min_interval_days=survey_settings.min_interval_days):
        raise SurveyRefused(
            _("%(customer)s was surveyed on %(day)s; the next survey is allowed from %(next)s.")
            % {"customer": customer, "day": last, "next": last + timedelta(days=survey_settings.min_interval_days)}
        )
    if contact is None:
        contact = customer.contacts.order_by("-is_primary", "pk").first()
    token = None
    survey = Survey(customer=customer, contact=contact, product=product, questionnaire=questionnaire, deal=deal,
                    reason=reason, channel=channel)
    if channel == Survey.Channel.EMAIL:
        token = secrets.token_urlsafe(32)  # 256 random bits
        survey.token_hash = Survey.hash_token(token)
        survey.expires = timezone.now() + timedelta(days=survey_settings.link_valid_days)
        # Left "to send" if survey_send never runs (a crash right after): the periodic
        # task sends it then, with a new token.
        survey.delivery = Survey.Delivery.PENDING
    survey.save()
    return survey, token


def survey_recipient(survey: Survey) -> str:
    return (survey.contact.email if survey.contact and survey.contact.email else "") or survey.customer.email


def survey_send(*, survey: Survey, token: str, base_url: str | None = None) -> str:
    """E-mail the link of a survey just made by survey_create (its `token`) to its contact
    and mark it sent; returns the link. No address: SurveyRefused. The mail server did not
    take it: SurveyNotSent, and the survey waits for a retry (a transient failure, sent
    later by the periodic task with a new link) or is marked failed. Not atomic on
    purpose: the claim and the "sent" mark are committed each on its own
    (crm_project.mail_retry)."""
    recipient = survey_recipient(survey)
    if not recipient:
        message = _("%(customer)s has no e-mail address to send the survey to.")
        raise SurveyRefused(message % {"customer": survey.customer})
    state = _survey_deliver(
        survey, token=token, base_url=base_url, today=business_today(),
        link_valid_days=SurveySettings.current().link_valid_days, connection=get_connection(),
    )
    if state == Survey.Delivery.SENT:
        return public_link(token, base_url=base_url)
    reason = Survey.objects.filter(pk=survey.pk).values_list("delivery_error", flat=True).first() or ""
    if state == Survey.Delivery.RETRY:
        message = _("The e-mail to %(to)s could not be sent now; it will be sent again automatically.")
    elif state == Survey.Delivery.FAILED:
        message = _("The e-mail to %(to)s could not be sent.")
    else:
        message = _("The survey's e-mail to %(to)s is being sent or has been sent already.")
    raise SurveyNotSent(message % {"to": recipient}, reason=reason)


def surveys_send_waiting(*, today: date | None = None, base_url: str | None = None) -> dict:
    """E-mail every survey waiting to go out: the ones "to send" and those whose retry is
    due, each claimed, sent and marked on its own (_survey_deliver). Returns how many were
    sent, wait for a retry, failed. Called by the nightly job after it creates the day's
    surveys, and by the periodic task for the retries."""
    today = today or business_today()
    Delivery = Survey.Delivery
    waiting = Survey.objects.filter(channel=Survey.Channel.EMAIL).filter(
        Q(delivery=Delivery.PENDING) | Q(delivery=Delivery.RETRY, next_attempt_at__lte=timezone.now())
    )
    # Answered meanwhile (the manager filled it in during a call): the e-mail is not needed.
    waiting.filter(answered_at__isnull=False).update(
        delivery=Delivery.FAILED, delivery_error=_("Answered before the e-mail went out.")[:300]
    )
    surveys = list(waiting.filter(answered_at__isnull=True).select_related("customer", "contact", "product")
                   .order_by("pk"))
    counts = {Delivery.SENT: 0, Delivery.RETRY: 0, Delivery.FAILED: 0}
    if not surveys:
        return {"sent": 0, "retrying": 0, "failed": 0}
    link_valid_days = SurveySettings.current().link_valid_days
    connection = get_connection()
    for survey in surveys:
        state = _survey_deliver(survey, token=None, base_url=base_url, today=today,
                                link_valid_days=link_valid_days, connection=connection)
        if state in counts:
            counts[state] += 1
    return {"sent": counts[Delivery.SENT], "retrying": counts[Delivery.RETRY], "failed": counts[Delivery.FAILED]}


def surveys_send_again(surveys) -> int:
    """Put e-mailed surveys whose delivery failed, or was left "sending" by a worker that
    died, back in the queue with a fresh budget of attempts: the periodic task sends them
    with a new link (the old one stops working). An administrator's decision, since a
    "sending" e-mail may already have reached the customer. Answered surveys are left
    alone. Returns how many were queued."""
    Delivery = Survey.Delivery
    return surveys.filter(
        channel=Survey.Channel.EMAIL, answered_at__isnull=True, delivery__in=[Delivery.SENDING, Delivery.FAILED]
    ).update(delivery=Delivery.PENDING, attempts=0, next_attempt_at=None, delivery_error="")


def _survey_deliver(survey: Survey, *, token: str | None, base_url: str | None, today: date, link_valid_days: int,
                    connection) -> str | None:
    """Claim, send and mark one survey's e-mail; returns its delivery state afterwards
    (None: another worker had claimed it). The claim stores the hash of the token the
    e-mail carries (a new one unless `token`, survey_create's, is given), so the link that
    went out is the one that opens the survey and an earlier attempt's link no longer does."""
    Delivery = Survey.Delivery
    token = token or secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(days=link_valid_days)
    claimed = Survey.objects.filter(pk=survey.pk, delivery=survey.delivery, attempts=survey.attempts).update(
        delivery=Delivery.SENDING, attempts=F("attempts") + 1, token_hash=Survey.hash_token(token),
        expires=expires, next_attempt_at=None,
    )
    if not claimed:
        return None
    attempts, survey.expires = survey.attempts + 1, expires
    try:
        recipient = survey_recipient(survey)
        if not recipient:
            raise ValueError(_("%(customer)s has no e-mail address to send the survey to.")
                             % {"customer": survey.customer})
        email = _survey_message(survey, recipient, public_link(token, base_url=base_url))
        email.connection = connection
        email.extra_headers["Message-ID"] = mail_retry.message_id("survey", survey.pk, mail_retry.site_domain())
        mail_retry.send_accepted(email, connection)
    except Exception as error:  # noqa: BLE001 - any mail failure is recorded on the survey
        if mail_retry.is_transient(error) and attempts < mail_retry.MAX_ATTEMPTS:
            Survey.objects.filter(pk=survey.pk).update(
                delivery=Delivery.RETRY, delivery_error=str(error)[:300],
                next_attempt_at=timezone.now() + mail_retry.backoff(attempts),
            )
            return Delivery.RETRY
        Survey.objects.filter(pk=survey.pk).update(delivery=Delivery.FAILED, delivery_error=str(error)[:300])
        return Delivery.FAILED
    with transaction.atomic():
        Survey.objects.filter(pk=survey.pk).update(
            delivery=Delivery.SENT, sent_at=timezone.now(), delivery_error="", next_attempt_at=None
        )
        if survey.deal_id:
            # The deal's own "survey sent" date, so its control point ("survey not sent")
            # clears; the deal history does not record this bookkeeping date.
            Deal.objects.filter(pk=survey.deal_id, survey_sent__isnull=True).update(survey_sent=today)
    return Delivery.SENT


def _survey_message(survey: Survey, recipient: str, link: str) -> EmailMessage:
    subject = _("How satisfied are you with %(product)s?") % {"product": survey.product.name}
    body = _(
        "Hello,\n\nWe would like to know how satisfied you are with %(product)s. "
        "The survey takes a minute: %(link)s\n\nThe link works once, until %(expires)s.\n"
    ) % {"product": survey.product.name, "link": link, "expires": timezone.localdate(survey.expires)}
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])


class LinkState:
    OK = "ok"
    USED = "used"
    EXPIRED = "expired"
    INVALID = "invalid"


def survey_by_token(token: str) -> tuple[Survey | None, str]:
    """The survey a link's token opens, and whether it may be answered now."""
    if not token or len(token) > 100:
        return None, LinkState.INVALID
    survey = (
        Survey.objects.select_related("product", "questionnaire")
        .filter(token_hash=Survey.hash_token(token)).first()
    )
    if survey is None:
        return None, LinkState.INVALID
    if survey.answered_at is not None:
        return survey, LinkState.USED
    if survey.expires is None or survey.expires <= timezone.now():
        return survey, LinkState.EXPIRED
    return survey, LinkState.OK


def survey_questions(survey: Survey):
    return list(survey.questionnaire.questions.filter(is_active=True).order_by("order", "pk"))


class SurveyAnswered(ValidationError):
    """The survey has its response already (a second submission): nothing is saved."""


@transaction.atomic
def survey_respond(
    *, survey: Survey, answers: dict[int, tuple[int, str]], filled_by=None, comment: str = "",
    at: datetime | None = None, today: date | None = None,
) -> Response:
    """Save the answers (question id -> (score 1..5, comment)) and, when any score is
    <= 3, open the complaint of satisfaction.complaint_kind in the same transaction.
    A survey is answered once: a second submission raises SurveyAnswered and saves nothing."""
    at = at or timezone.now()
    survey = Survey.objects.select_for_update().select_related("customer", "product").get(pk=survey.pk)
    if survey.answered_at is not None:
        raise SurveyAnswered(_("This survey has been answered already."))
    if filled_by is None and (survey.expires is None or survey.expires <= at):
        raise ValidationError(_("The survey link has expired."))
    questions = {question.pk: question for question in survey_questions(survey)}
    errors = {}
    for question_id in questions:
        score = answers.get(question_id, (None, ""))[0]
        if score is None or not 1 <= int(score) <= 5:
            errors[f"q{question_id}"] = _("Give a score from 1 to 5.")
    if set(answers) - set(questions):
        errors["__all__"] = _("An answer is for a question this survey does not ask.")
    if errors:
        raise ValidationError(errors)
    customer = survey.customer
    response = Response.objects.create(
        survey=survey, customer=customer, product=survey.product, manager_id=customer.manager_id,
        filled_by=filled_by, answered_at=at, comment=(comment or "").strip(),
    )
    Answer.objects.bulk_create(
        Answer(response=response, question_id=qid, score=int(score), comment=(text or "").strip()[:500])
        for qid, (score, text) in answers.items()
    )
    survey.answered_at = at
    survey.save(update_fields=["answered_at"])
    kind = satisfaction.complaint_kind(score for score, _text in answers.values())
    if kind is not None:
        low = [
            f"{questions[qid].text}: {score}" + (f" ({text.strip()})" if (text or "").strip() else "")
            for qid, (score, text) in sorted(answers.items(), key=lambda item: questions[item[0]].order)
            if int(score) <= satisfaction.LOW_SCORE
        ]
        description = _("Survey on %(product)s answered with low scores:") % {"product": survey.product.name}
        description += "\n" + "\n".join(low) + (f"\n{response.comment}" if response.comment else "")
        complaint_register(
            customer=customer,
            owner=customer.manager or filled_by or _fallback_owner(),
            description=description,
            actor=filled_by,
            severity=AUTO_SEVERITY[kind],
            channel=Complaint.Channel.SURVEY,
            contact=survey.contact,
            product=survey.product,
            deal=survey.deal,
            kind=kind,
            response=response,
            today=today or timezone.localdate(at),
            at=at,
        )
    return response


def deal_grade_complaint(*, deal, today: date | None = None) -> Complaint | None:
    """The deal's closing grade follows the survey rule: <= 2 explicit, 3 hidden
    dissatisfaction, owned by the customer's manager; one complaint per deal, however
    often it is called (the Deal post_save signal in complaints.signals calls it)."""
    kind = satisfaction.complaint_kind([deal.closing_grade] if deal.closing_grade is not None else [])
    if kind is None or Complaint.objects.filter(deal=deal, channel=Complaint.Channel.DEAL_GRADE).exists():
        return None
    first_line = deal.lines.select_related("product").order_by("pk").first()
    customer = deal.customer
    # Dated when the grade was given (the deal's closing), so a closed-in-the-past deal's
    # complaint has the deadline it would have had.
    at = deal.closed_at or timezone.now()
    try:
        with transaction.atomic():
            return complaint_register(
                customer=customer,
                owner=customer.manager or deal.manager,
                description=_("The deal “%(title)s” was closed with the grade %(grade)s.")
                % {"title": deal.title, "grade": deal.closing_grade},
                actor=None,
                severity=AUTO_SEVERITY[kind],
                channel=Complaint.Channel.DEAL_GRADE,
                product=first_line.product if first_line else None,
                deal=deal,
                kind=kind,
                today=today or timezone.localdate(at),
                at=at,
            )
    except IntegrityError:
        return None  # opened concurrently: the unique constraint kept it to one


def surveys_schedule_due(*, today: date | None = None, base_url: str | None = None) -> dict:
    """Create every survey due today (satisfaction.survey_due over selectors.survey_facts)
    in one bulk insert: by e-mail where the customer has an address ("to send"), else as a
    call for the manager's agenda. The rows are committed before any e-mail goes out;
    then every waiting e-mail (today's and the retries due) is sent one by one
    (surveys_send_waiting), so a mail server failing midway leaves the sent ones marked
    sent and the rest waiting for a retry. Called by the nightly task."""
    today = today or business_today()
    created, calls = _surveys_create_due(today)
    sending = surveys_send_waiting(today=today, base_url=base_url)
    return {"created": created, "calls": calls, "emailed": sending["sent"], "retrying": sending["retrying"],
            "failed": sending["failed"]}


@transaction.atomic
def _surveys_create_due(today: date) -> tuple[int, int]:
    """The day's surveys, in one bulk insert; returns (created, of them to call)."""
    survey_settings = SurveySettings.current()
    facts, deal_ids = selectors.survey_facts(today=today, yearly_days=survey_settings.yearly_days)
    due = [
        item
        for fact in facts
        if (item := satisfaction.survey_due(fact, today=today, min_interval_days=survey_settings.min_interval_days,
                                             yearly_days=survey_settings.yearly_days))
    ]
    if not due:
        return 0, 0
    products = Product.objects.in_bulk({item.product_id for item in due})
    own = dict(Questionnaire.objects.filter(is_active=True, product__isnull=False).values_list("product_id", "pk"))
    by_line = dict(
        Questionnaire.objects.filter(is_active=True, product_line__isnull=False).values_list("product_line_id", "pk")
    )
    customer_ids = {item.customer_id for item in due}
    contacts = {}
    for contact in Contact.objects.filter(customer_id__in=customer_ids).order_by("customer_id", "-is_primary", "pk"):
        contacts.setdefault(contact.customer_id, contact)
    customer_emails = dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "email"))
    surveys = []
    for item in due:
        product = products[item.product_id]
        contact = contacts.get(item.customer_id)
        address = (contact.email if contact and contact.email else "") or customer_emails.get(item.customer_id, "")
        # No token yet: each e-mail's token is made when it is claimed for sending.
        surveys.append(Survey(
            customer_id=item.customer_id,
            contact=contact,
            product=product,
            questionnaire_id=own.get(product.pk) or by_line.get(product.line_id),
            deal_id=deal_ids.get((item.customer_id, item.product_id)),
            reason=item.reason,
            channel=Survey.Channel.EMAIL if address else Survey.Channel.CALL,
            delivery=Survey.Delivery.PENDING if address else Survey.Delivery.NONE,
        ))
    Survey.objects.bulk_create(surveys)
    calls = sum(1 for survey in surveys if survey.channel == Survey.Channel.CALL)
    return len(surveys), calls
