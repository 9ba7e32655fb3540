"""The six-stage pipeline's models (domain.md section 5): deals, their lines, stage
changes, payments, documents and the admin-edited refusal reasons and templates."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.models import HistoricalRecords

from crm_project.history import HistoryActorName
from crm_project.object_urls import object_url
from customers.access import managed_scope

from .ledger import MONEY_DIGITS

# Whose a deal is: its manager's and its customer's manager's (and their directors').
DEAL_MANAGERS = ("manager", "customer__manager")


class Stage(models.IntegerChoices):
    PRESENTATION = 1, "Presentation"
    OFFER = 2, "Commercial offer"
    AGREEMENT = 3, "Agreement"
    PAYMENT = 4, "Payment"
    DELIVERY = 5, "Delivery / event"
    CLOSING = 6, "Closing + follow-up"


class RefusalReason(models.Model):
    """Why customers say no, per stage (admin-edited list)."""

    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    text = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["stage", "text"]
        constraints = [models.UniqueConstraint(fields=["stage", "text"], name="one_reason_text_per_stage")]

    def __str__(self) -> str:
        return self.text


class DealQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A deal is visible to its manager, its customer's manager and their directors
        (and those who see everything), never to every manager: a pool customer's deal
        is not the pool's."""
        return self.filter(managed_scope(user, *DEAL_MANAGERS))

    def visible_to_by_customer_keys(self, user):
        """The deals of visible_to(user), with the customer's-manager half written as
        "customer in (the customers so managed)" rather than as a condition on the joined
        customer. On a deep list page PostgreSQL then walks the deals' date index instead
        of joining and sorting every visible deal (page 200 of a director's list: the
        keys in 10 ms instead of 200, issue 15); on the first pages the join is cheaper
        (the customers are read whole first), so only deep pages use it."""
        from customers.models import Customer

        own = managed_scope(user, "manager")
        if own == Q():  # sees everything
            return self.all()
        return self.filter(own | Q(customer__in=Customer.objects.filter(managed_scope(user, "manager")).values("pk")))

    def with_paid(self):
        """Annotate `paid` (the sum of payments, refunds negative; 0 without any) in the
        same query."""
        paid = (
            Payment.objects.filter(deal_id=models.OuterRef("pk"))
            .order_by()
            .values("deal_id")
            .annotate(total=models.Sum("amount"))
            .values("total")
        )
        money = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
        zero = models.Value(Decimal("0.00"), output_field=money)
        return self.annotate(paid=Coalesce(models.Subquery(paid, output_field=money), zero))


class Deal(models.Model):
    """One sale to one customer, moved through six stages; lost at any stage with a reason."""

    class SaleType(models.TextChoices):
        LONG_PUSH = "long_push", "Long push (came with a need)"
        LONG_PULL = "long_pull", "Long pull (we went to them)"
        SHORT_PUSH = "short_push", "Short push"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    # indexed by deal_customer_created, which leads with it
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="deals", db_index=False)
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deals")
    title = models.CharField(max_length=200)
    amount = models.DecimalField(
        max_digits=MONEY_DIGITS, decimal_places=2, default=0, help_text="Sum of the lines after discounts."
    )
    sale_type = models.CharField(max_length=12, choices=SaleType.choices)
    source = models.CharField(max_length=100, blank=True)
    expected_close = models.DateField(null=True, blank=True)
    stage = models.PositiveSmallIntegerField(choices=Stage.choices, default=Stage.PRESENTATION)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    # 1 Presentation
    minutes_sent = models.DateField("meeting minutes sent", null=True, blank=True)
    retry_date = models.DateField(null=True, blank=True, help_text="After a refused presentation: when to try again.")
    # 2 Commercial offer
    offer_sent = models.DateField(null=True, blank=True)
    offer_expires = models.DateField(null=True, blank=True)
    offer_revisions = models.PositiveSmallIntegerField(default=0)
    # 3 Agreement
    contract_signed = models.DateField(null=True, blank=True)
    signatories = models.CharField(max_length=300, blank=True)
    # 4 Payment
    invoice_number = models.CharField(max_length=50, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    invoice_expires = models.DateField(null=True, blank=True)
    # 5 Delivery / event
    event_date = models.DateField("delivery or event date", null=True, blank=True)
    preparation_agreed = models.TextField("preparatory steps agreed with the customer", blank=True)
    # 6 Closing + follow-up
    act_signed = models.DateField(null=True, blank=True)
    survey_date = models.DateField("satisfaction survey date", null=True, blank=True)
    survey_sent = models.DateField(null=True, blank=True)
    next_contact = models.DateField(null=True, blank=True)
    closing_grade = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The customer's grade, 1..5.")
    # losing
    lost_reason = models.ForeignKey(RefusalReason, on_delete=models.PROTECT, null=True, blank=True)
    lost_comment = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords(bases=[HistoryActorName])
    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # amount last: a stage's open deals biggest first (the board column's list,
            # sorted by amount) walk the index instead of sorting the stage (issue 15)
            models.Index(fields=["status", "stage", "amount"], name="deal_status_stage_amount"),
            models.Index(fields=["manager", "status", "stage"]),
            # The list's default order. With the key and both managers, a deep page's keys
            # (crm_project.pagination) are read from the index alone, the rows skipped by
            # the OFFSET tested against the scope without visiting the table.
            models.Index(fields=["created_at"], name="deal_created", include=["id", "manager", "customer"]),
            # The control points of each kind in due order (control_points.py): partial, so
            # each holds only the deals that kind looks at.
            models.Index(fields=["offer_expires", "id"], name="deal_due_offer", condition=Q(status="open", stage=2)),
            models.Index(
                fields=["invoice_expires", "id"], name="deal_due_invoice", condition=Q(status="open", stage__gte=4)
            ),
            models.Index(
                fields=["event_date", "id"], name="deal_due_event", condition=Q(status="open", stage__in=[5, 6])
            ),
            models.Index(
                fields=["survey_date", "id"],
                name="deal_due_survey",
                condition=Q(status="won", survey_sent__isnull=True),
            ),
            models.Index(fields=["retry_date", "id"], name="deal_due_retry", condition=Q(status="lost", stage=1)),
            # A manager's retries (the agenda), and "a newer deal of the customer" answered
            # from the index alone: thousands of refused deals later superseded are then
            # skipped in milliseconds (agenda's control points 100 -> 11 ms at 200,000 deals).
            models.Index(
                fields=["manager", "retry_date", "id"],
                name="deal_due_retry_manager",
                condition=Q(status="lost", stage=1),
            ),
            models.Index(fields=["customer", "created_at"], name="deal_customer_created"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return object_url("sales_pipeline:deal_detail", self.pk)


class OpenDealTotal(models.Model):
    """The open deals counted and summed per (deal manager, customer's manager, stage,
    sale type), so that the board's column heads read a few hundred rows instead of
    joining every open deal with its customer (the deal's scope is an OR across both
    tables: 55-70 ms at 200,000 deals, issue 15).

    Kept by database triggers (migration 0011) in the statement that writes deals
    (insert, delete, and updates of status, stage, amount, manager, customer or sale
    type) or reassigns a customer (its open deals move to the new manager's rows), on
    PostgreSQL and SQLite, whoever writes: services, imports, demo seeding, admin, bulk
    updates, raw SQL. The application never writes it. Read through deal_totals."""

    pk = models.CompositePrimaryKey("manager", "customer_manager", "stage", "sale_type")
    # No database foreign keys: the rows come from deals, whose own keys check the users.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    # 0 for a customer without a manager (the pool): the key cannot hold a NULL.
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    sale_type = models.CharField(max_length=12)
    deals = models.PositiveIntegerField(help_text="Open deals; the row goes when it reaches 0.")
    cents = models.BigIntegerField(help_text="Sum of their amounts, in cents (exact on SQLite too).")

    def __str__(self) -> str:
        return f"{self.manager_id}/{self.customer_manager_id} {self.stage} {self.sale_type}: {self.deals}"


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("customers.Product", on_delete=models.PROTECT)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=1)
    price = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    discount = models.DecimalField("discount %", max_digits=5, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"


class RetryDue(models.Model):
    """The deals whose retry date is still to be kept: lost at Presentation with a retry
    date and no newer deal of the customer since (control_points.py, retry_reached). Kept
    by triggers on the deals (migration 0014) in the statement that writes them, so that
    the control point is a range read of the few open retries, not a pass over every
    refused presentation with an anti-join to the newer deals (thousands superseded)."""

    deal = models.OneToOneField(
        Deal,
        on_delete=models.DO_NOTHING,  # the triggers remove the row with the deal
        db_constraint=False,
        primary_key=True,
        related_name="retry_due",
    )
    retry_date = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["retry_date", "deal"], name="retry_due_date")]

    def __str__(self) -> str:
        return f"{self.deal_id}: retry {self.retry_date}"


class StageChange(models.Model):
    """A move of a deal between stages (or to won/lost): from, to, when, who, days spent."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.PositiveSmallIntegerField(choices=Stage.choices, null=True)
    to_stage = models.PositiveSmallIntegerField(choices=Stage.choices)
    to_status = models.CharField(max_length=6, choices=Deal.Status.choices, default=Deal.Status.OPEN)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    days_in_stage = models.PositiveIntegerField(default=0, help_text="Days spent in from_stage.")

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["to_stage", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage} -> {self.to_stage}"


class ContractChange(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="contract_changes")
    date = models.DateField()
    note = models.CharField(max_length=300)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.note}"


class Payment(models.Model):
    """Money received for a deal (negative: a refund); each writes settlement lines."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="payments")
    date = models.DateField()
    amount = models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"


class DocumentTemplate(models.Model):
    """Admin-edited template of a printable document, in Django template language."""

    class Kind(models.TextChoices):
        OFFER = "offer", "Commercial offer"
        CONTRACT = "contract", "Contract"
        INVOICE = "invoice", "Invoice"
        ACT = "act", "Act"

    kind = models.CharField(max_length=10, choices=Kind.choices, unique=True)
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Django template; context: deal, customer, lines, manager, today.")

    def __str__(self) -> str:
        return self.title


class DealDocument(models.Model):
    """A document of a deal: generated from a template or uploaded, with its sent date."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=10, choices=[*DocumentTemplate.Kind.choices, ("other", "Other")])
    file = models.FileField(upload_to="deals/%Y/%m/", blank=True)
    title = models.CharField(max_length=200)
    sent_date = models.DateField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
