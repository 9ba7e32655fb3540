from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from crm_project.history import HistoryActorName


class Interaction(models.Model):
    """A call, meeting, e-mail, letter or note with a customer, as it happened."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        EMAIL = "email", "E-mail"
        LETTER = "letter", "Letter"
        NOTE = "note", "Note"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"
        NO_ANSWER = "no_answer", "No answer"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="interactions")
    contact = models.ForeignKey("customers.Contact", on_delete=models.SET_NULL, null=True, blank=True)
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="interactions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CALL)
    occurred_at = models.DateTimeField(default=timezone.now)
    summary = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)

    class Meta:
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
        PLANNED = "planned", "Planned"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="planned_contacts")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="planned_contacts")
    due_date = models.DateField()
    purpose = models.CharField(max_length=200)
    product = models.ForeignKey(
        "customers.Product", on_delete=models.SET_NULL, null=True, blank=True, help_text="What to offer."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    planned_in = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="planned_next"
    )
    done_in = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="completed_contacts"
    )
    # who had it before a hand-over, so the agenda can say "from Mark, while away"
    handed_over_from = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(bases=[HistoryActorName])

    class Meta:
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

    name = models.CharField(max_length=100)
    date = models.DateField(help_text="For a yearly holiday, the year is ignored.")
    yearly = models.BooleanField(default=True)

    class Meta:
        ordering = ["date__month", "date__day"]

    def __str__(self) -> str:
        return self.name


class Greeting(models.Model):
    """That a customer (or one of its contacts) was greeted on an occasion, once a year."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="greetings")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, null=True, blank=True)
    occasion = models.CharField(max_length=100, help_text="'birthday' or the holiday's name")
    occasion_date = models.DateField()
    greeted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    greeted_at = models.DateTimeField(default=timezone.now)

    class Meta:
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
            models.Index(fields=["occasion", "occasion_date", "customer"], include=["contact"],
                         name="greeting_occasion_day"),
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
        on_delete=models.DO_NOTHING,  # the triggers remove the row with the customer's last interaction
        db_constraint=False,
        primary_key=True,
        related_name="last_interaction",
    )
    occurred_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.occurred_at:%Y-%m-%d %H:%M}"
