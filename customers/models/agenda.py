from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_project.history import HistoryActorName, LabelledHistoricalRecords


class Interaction(models.Model):
    """A call, meeting, e-mail, letter or note with a customer, as it happened."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        NOTE = "note", _("Note")

    class Outcome(models.TextChoices):
        NONE = "", _("—")
        POSITIVE = "positive", _("Positive")
        NEUTRAL = "neutral", _("Neutral")
        NEGATIVE = "negative", _("Negative")
        NO_ANSWER = "no_answer", _("No answer")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="interactions", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("contact")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="interactions", verbose_name=_("manager")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.CALL)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    summary = models.TextField(_("summary"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-occurred_at"]),
            # A manager's interactions of a few hours: process health counts those of the
            # first local day that its per-day totals do not hold (reporting.health).
            models.Index(fields=["manager", "occurred_at"], name="interaction_manager_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.customer} on {self.occurred_at:%Y-%m-%d}"


class PlannedContact(models.Model):
    """A contact a manager plans to make: the agenda is made of these."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="planned_contacts", verbose_name=_("customer")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="planned_contacts", verbose_name=_("manager")
    )
    due_date = models.DateField(_("due date"))
    purpose = models.CharField(_("purpose"), max_length=200)
    product = models.ForeignKey(
        "customers.Product",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text=_("What to offer."),
        verbose_name=_("product"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    planned_in = models.ForeignKey(
        Interaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="planned_next",
        verbose_name=_("planned in"),
    )
    done_in = models.ForeignKey(
        Interaction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="completed_contacts",
        verbose_name=_("done in"),
    )
    # who had it before a hand-over, so the agenda can say "from Mark, while away"
    handed_over_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handed over from"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = LabelledHistoricalRecords(
        verbose_name=_("historical planned contact"),
        verbose_name_plural=_("historical planned contacts"),
        bases=[HistoryActorName],
    )

    class Meta:
        verbose_name = _("planned contact")
        verbose_name_plural = _("planned contacts")
        ordering = ["due_date", "id"]
        indexes = [
            models.Index(fields=["manager", "status", "due_date"]),
            # Who covers whose customers (customers.access.owned_scope, on every page a
            # manager opens): the few handed-over contacts, not all of a manager's plans.
            models.Index(
                fields=["manager", "customer"],
                condition=models.Q(status="planned", handed_over_from__isnull=False),
                name="plannedcontact_covering",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.due_date}: {self.purpose} ({self.customer})"


class Holiday(models.Model):
    """A day to greet customers on (New Year, a trade's professional day, ...)."""

    name = models.CharField(_("name"), max_length=100)
    date = models.DateField(_("date"), help_text=_("For a yearly holiday, the year is ignored."))
    yearly = models.BooleanField(_("yearly"), default=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date__month", "date__day"]

    def __str__(self) -> str:
        return self.name


class Greeting(models.Model):
    """That a customer (or one of its contacts) was greeted on an occasion, once a year."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="greetings", verbose_name=_("customer")
    )
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("contact")
    )
    occasion = models.CharField(_("occasion"), max_length=100, help_text=_("'birthday' or the holiday's name"))
    occasion_date = models.DateField(_("occasion date"))
    greeted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, verbose_name=_("greeted by")
    )
    greeted_at = models.DateTimeField(_("greeted at"), default=timezone.now)

    class Meta:
        verbose_name = _("greeting")
        verbose_name_plural = _("greetings")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "contact", "occasion", "occasion_date"], name="one_greeting_per_occasion"
            ),
            # SQL treats NULL contacts as all different: the customer-level greeting needs its own rule.
            models.UniqueConstraint(
                fields=["customer", "occasion", "occasion_date"],
                condition=models.Q(contact__isnull=True),
                name="one_customer_greeting_per_occasion",
            ),
        ]
        indexes = [
            # The agenda's "who is greeted on this holiday / these birthdays": a range of one
            # occasion's days, not a scan of every greeting ever recorded (they pile up yearly).
            models.Index(
                fields=["occasion", "occasion_date", "customer"], include=["contact"], name="greeting_occasion_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occasion} {self.occasion_date}: {self.customer}"


class LastInteraction(models.Model):
    """Each customer's newest interaction time, kept by the database's triggers on the
    interaction table (migration 0008) in the statement that writes an interaction, so that
    pages asking "when was the last contact" for every customer (the contact interval control
    point) read one row per customer instead of a MAX over its interactions. No row: none yet."""

    customer = models.OneToOneField(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.DO_NOTHING,  # the triggers remove the row with the customer's last interaction
        db_constraint=False,
        primary_key=True,
        related_name="last_interaction",
    )
    occurred_at = models.DateTimeField(_("occurred at"))

    class Meta:
        verbose_name = _("last interaction")
        verbose_name_plural = _("last interactions")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.occurred_at:%Y-%m-%d %H:%M}"
