"""Complaints worked as a process, per-product questionnaires, and surveys whose low
scores open complaints (domain.md section 7)."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_project.object_urls import object_url
from customers.access import customer_scope

from . import workflow


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Step(models.TextChoices):
    REGISTERED = workflow.REGISTERED, _("Registered")
    INVESTIGATING = workflow.INVESTIGATING, _("Investigating")
    CAUSE_ELIMINATED = workflow.CAUSE_ELIMINATED, _("Cause eliminated")
    PROCESS_FIXED = workflow.PROCESS_FIXED, _("Process fixed")
    CLOSED = workflow.CLOSED, _("Closed")


class CauseCategory(models.Model):
    """Why complaints happen, in the company's words (admin-edited): "packaging", "late delivery"..."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cause category")
        verbose_name_plural = _("cause categories")

    def __str__(self) -> str:
        return self.name


class SlaRule(models.Model):
    """How many working days a complaint of a severity may stay in a step (admin-set;
    complaints.sla.DEFAULT_DAYS applies where no rule is set)."""

    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    step = models.CharField(_("step"), max_length=20, choices=Step.choices[:-1])
    working_days = models.PositiveSmallIntegerField(_("working days"))

    class Meta:
        ordering = ["severity", "step"]
        verbose_name = _("SLA rule")
        verbose_name_plural = _("SLA rules")
        constraints = [models.UniqueConstraint(fields=["severity", "step"], name="complaints_one_sla_per_step")]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} / {self.get_step_display()}: {self.working_days}"


class NonWorkingDay(models.Model):
    """A public holiday or company closure: SLA deadlines skip it. (customers.Holiday is a
    day to greet customers on, often a working day, so it is not reused here.)"""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("non-working day")
        verbose_name_plural = _("non-working days")

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class SurveySettings(models.Model):
    """One row: how often customers may be surveyed and how long a link lives."""

    min_interval_days = models.PositiveSmallIntegerField(
        _("minimum days between two surveys of a customer"), default=90
    )
    yearly_days = models.PositiveSmallIntegerField(_("survey every active customer at least every (days)"), default=365)
    link_valid_days = models.PositiveSmallIntegerField(_("a survey link is valid for (days)"), default=30)

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return str(_("Survey settings"))

    @classmethod
    def current(cls) -> "SurveySettings":
        return cls.objects.order_by("pk").first() or cls()


class Questionnaire(models.Model):
    """The questions asked about one product, or about every product of a line that has
    no questionnaire of its own."""

    name = models.CharField(_("name"), max_length=200)
    product = models.OneToOneField(
        "customers.Product", verbose_name=_("product"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="questionnaire",
    )
    product_line = models.OneToOneField(
        "customers.ProductLine", verbose_name=_("product line"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="questionnaire",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=False) | models.Q(product_line__isnull=False),
                name="complaints_questionnaire_has_a_product_or_line",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    questionnaire = models.ForeignKey(
        Questionnaire, verbose_name=_("questionnaire"), on_delete=models.CASCADE, related_name="questions"
    )
    text = models.CharField(_("question"), max_length=300)
    order = models.PositiveSmallIntegerField(_("order"), default=10)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["questionnaire", "order", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return self.text


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(customer_scope(user, prefix="customer__"))


class Survey(models.Model):
    """One customer asked about one product: by e-mail with a single-use link, or by the
    manager during a call. Only the token's SHA-256 is stored.

    An e-mailed survey's delivery: written "to send" first (committed), then claimed
    ("sending", with a fresh token whose hash replaces the last one) and sent on its own;
    marked sent once the mail server accepted it, else waiting to retry (transient, with
    a backoff) or failed. crm_project.mail_retry has the rules; a row left "sending" by a
    killed worker is never sent again (it may have gone out)."""

    class Delivery(models.TextChoices):
        NONE = "", _("Not e-mailed")
        PENDING = "pending", _("To send")
        SENDING = "sending", _("Sending")
        RETRY = "retry", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        CALL = "call", _("Call")

    class Reason(models.TextChoices):
        YEARLY = "yearly", _("Yearly survey")
        NEW_PRODUCT = "new_product", _("New product bought")
        DEAL_CLOSED = "deal_closed", _("Deal closed")
        MANUAL = "manual", _("Sent by hand")

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="surveys")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL,
                                null=True, blank=True)
    product = models.ForeignKey("customers.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="surveys")
    questionnaire = models.ForeignKey(Questionnaire, verbose_name=_("questionnaire"), on_delete=models.PROTECT,
                                      related_name="surveys")
    deal = models.ForeignKey("sales_pipeline.Deal", verbose_name=_("deal"), on_delete=models.SET_NULL, null=True,
                             blank=True, related_name="surveys")
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, default=Reason.MANUAL)
    channel = models.CharField(_("channel"), max_length=6, choices=Channel.choices, default=Channel.EMAIL)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, null=True, blank=True, editable=False)
    expires = models.DateTimeField(_("link expires"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    delivery = models.CharField(_("e-mail delivery"), max_length=10, choices=Delivery.choices, blank=True,
                                default=Delivery.NONE)
    attempts = models.PositiveSmallIntegerField(_("sending attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivery_error = models.CharField(_("last sending error"), max_length=300, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        indexes = [
            models.Index(fields=["customer", "-created_at"]),
            # The list's default order (issue 15; as complaint_registered).
            models.Index(fields=["created_at"], name="survey_created"),
            # The e-mails still to send or to retry: a handful among every survey ever made.
            models.Index(fields=["next_attempt_at"], condition=Q(delivery__in=["pending", "retry"]),
                         name="survey_mail_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} / {self.product} ({self.created_at:%Y-%m-%d})"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Response(models.Model):
    """The answers to one survey (one response per survey: the database says so)."""

    survey = models.OneToOneField(Survey, verbose_name=_("survey"), on_delete=models.CASCADE,
                                  related_name="response")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE,
                                 related_name="survey_responses")
    product = models.ForeignKey("customers.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="survey_responses")
    # the customer's manager when answered: satisfaction per manager over time
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    filled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("filled by"),
                                  on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                  help_text=_("Empty: the customer answered through the link."))
    answered_at = models.DateTimeField(_("answered at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-answered_at"]
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")

    def __str__(self) -> str:
        return f"{self.customer} / {self.product} ({self.answered_at:%Y-%m-%d})"


class Answer(models.Model):
    response = models.ForeignKey(Response, verbose_name=_("response"), on_delete=models.CASCADE,
                                 related_name="answers")
    question = models.ForeignKey(Question, verbose_name=_("question"), on_delete=models.PROTECT,
                                 related_name="answers")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        ordering = ["response", "question__order"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="complaints_one_answer_per_question"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="complaints_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.score}"


class Complaint(models.Model):
    """A complaint worked through the steps of complaints.workflow; every move is a
    ComplaintTransition written by complaints.services."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        EMAIL = "email", _("E-mail")
        MEETING = "meeting", _("Meeting")
        LETTER = "letter", _("Letter")
        WEBSITE = "website", _("Website")
        SURVEY = "survey", _("Survey")
        DEAL_GRADE = "deal_grade", _("Deal closing grade")

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("Registered complaint")
        EXPLICIT = "explicit", _("Explicit dissatisfaction")
        HIDDEN = "hidden", _("Hidden dissatisfaction")

    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT,
                                 related_name="complaints")
    contact = models.ForeignKey("customers.Contact", verbose_name=_("contact"), on_delete=models.SET_NULL,
                                null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE)
    product = models.ForeignKey("customers.Product", verbose_name=_("product"), on_delete=models.PROTECT,
                                null=True, blank=True, related_name="complaints")
    deal = models.ForeignKey("sales_pipeline.Deal", verbose_name=_("deal"), on_delete=models.SET_NULL,
                             null=True, blank=True, related_name="complaints")
    description = models.TextField(_("description"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REGISTERED)
    step = models.CharField(_("step"), max_length=20, choices=Step.choices, default=Step.REGISTERED)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT,
                              related_name="complaints")
    # investigating -> cause eliminated
    cause = models.TextField(_("cause"), blank=True)
    cause_category = models.ForeignKey(CauseCategory, verbose_name=_("cause category"), on_delete=models.PROTECT,
                                       null=True, blank=True, related_name="complaints")
    action = models.TextField(_("what was done to eliminate the cause"), blank=True)
    # cause eliminated -> process fixed
    process_change = models.TextField(_("what in the process changed"), blank=True)
    efficacy_check_date = models.DateField(_("efficacy check date"), null=True, blank=True)
    # process fixed -> closed
    efficacy_result = models.TextField(_("efficacy check result"), blank=True)
    efficacy_ok = models.BooleanField(_("the fix worked"), null=True, blank=True)
    # the current step: since when, and until when (SLA in working days)
    step_started = models.DateField(_("step started"), default=timezone.localdate)
    step_deadline = models.DateField(_("deadline"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    response = models.OneToOneField(Response, verbose_name=_("survey response"), on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="complaint")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"),
                                   on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-registered_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            models.Index(fields=["owner", "step", "step_deadline"]),
            models.Index(fields=["customer", "step"]),
            # The list's default order: its first page read from the index, newest first,
            # instead of sorting every visible complaint (issue 15).
            models.Index(fields=["registered_at"], name="complaint_registered"),
        ]
        constraints = [
            # The deal's closing grade opens at most one complaint per deal.
            models.UniqueConstraint(fields=["deal"], condition=models.Q(channel="deal_grade"),
                                    name="complaints_one_grade_complaint_per_deal"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.customer}"

    def get_absolute_url(self) -> str:
        return object_url("complaints:complaint_detail", self.pk)

    @property
    def is_open(self) -> bool:
        return self.step != Step.CLOSED

    def is_overdue(self, today) -> bool:
        return self.is_open and self.step_deadline is not None and self.step_deadline < today


class ComplaintTransition(models.Model):
    """The audit row of one move: from, to, who, when, why; with the deadline the left
    step had, so SLA breaches are counted from history."""

    complaint = models.ForeignKey(Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE,
                                  related_name="transitions")
    from_step = models.CharField(_("from step"), max_length=20, choices=Step.choices, blank=True)
    to_step = models.CharField(_("to step"), max_length=20, choices=Step.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.SET_NULL, null=True,
                           blank=True, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)
    text = models.TextField(_("text"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True,
                                help_text=_("The deadline of the step left."))
    late = models.BooleanField(_("late"), default=False, help_text=_("The step was left after its deadline."))
    is_reopen = models.BooleanField(_("is reopen"), default=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("complaint transition")
        verbose_name_plural = _("complaint transitions")

    def __str__(self) -> str:
        return f"{self.complaint_id}: {self.get_from_step_display()} -> {self.get_to_step_display()}"


class ComplaintAttachment(models.Model):
    """A file of a complaint, checked as deal documents are (sales_pipeline.documents.check_upload)."""

    complaint = models.ForeignKey(Complaint, verbose_name=_("complaint"), on_delete=models.CASCADE,
                                  related_name="attachments")
    file = models.FileField(_("file"), upload_to="complaints/%Y/%m/")
    title = models.CharField(_("title"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"),
                                    on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("complaint attachment")
        verbose_name_plural = _("complaint attachments")

    def __str__(self) -> str:
        return self.title
