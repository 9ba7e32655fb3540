"""The six-stage pipeline's models (domain.md section 5): deals, their lines, stage
changes, payments, documents and the admin-edited refusal reasons and templates."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm_project.history import HistoryActorName, LabelledHistoricalRecords
from crm_project.object_urls import object_url
from customers.access import managed_scope

from .ledger import MONEY_DIGITS

# Whose a deal is: its manager's and its customer's manager's (and their directors').
DEAL_MANAGERS = ("manager", "customer__manager")


class Stage(models.IntegerChoices):
    PRESENTATION = 1, _("Presentation")
    OFFER = 2, _("Commercial offer")
    AGREEMENT = 3, _("Agreement")
    PAYMENT = 4, _("Payment")
    DELIVERY = 5, _("Delivery / event")
    CLOSING = 6, _("Closing + follow-up")


class RefusalReason(models.Model):
    """Why customers say no, per stage (admin-edited list)."""

    stage = models.PositiveSmallIntegerField(verbose_name=_("stage"), choices=Stage.choices)
    text = models.CharField(verbose_name=_("text"), max_length=200)
    is_active = models.BooleanField(verbose_name=_("is active"), default=True)

    class Meta:
        verbose_name = _("refusal reason")
        verbose_name_plural = _("refusal reasons")
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
        LONG_PUSH = "long_push", _("Long push (came with a need)")
        LONG_PULL = "long_pull", _("Long pull (we went to them)")
        SHORT_PUSH = "short_push", _("Short push")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("deal status", "Open")
        WON = "won", pgettext_lazy("deal status", "Won")
        LOST = "lost", pgettext_lazy("deal status", "Lost")

    # indexed by deal_customer_created, which leads with it
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("manager"), on_delete=models.PROTECT, related_name="deals"
    )
    title = models.CharField(verbose_name=_("title"), max_length=200)
    amount = models.DecimalField(
        verbose_name=_("amount"),
        max_digits=MONEY_DIGITS,
        decimal_places=2,
        default=0,
        help_text=_("Sum of the lines after discounts."),
    )
    sale_type = models.CharField(verbose_name=_("sale type"), max_length=12, choices=SaleType.choices)
    source = models.CharField(verbose_name=_("source"), max_length=100, blank=True)
    expected_close = models.DateField(verbose_name=_("expected close"), null=True, blank=True)
    stage = models.PositiveSmallIntegerField(verbose_name=_("stage"), choices=Stage.choices, default=Stage.PRESENTATION)
    stage_entered_at = models.DateTimeField(verbose_name=_("stage entered at"), default=timezone.now)
    status = models.CharField(verbose_name=_("status"), max_length=6, choices=Status.choices, default=Status.OPEN)
    # 1 Presentation
    minutes_sent = models.DateField(_("meeting minutes sent"), null=True, blank=True)
    retry_date = models.DateField(
        verbose_name=_("retry date"),
        null=True,
        blank=True,
        help_text=_("After a refused presentation: when to try again."),
    )
    # 2 Commercial offer
    offer_sent = models.DateField(verbose_name=_("offer sent"), null=True, blank=True)
    offer_expires = models.DateField(verbose_name=_("offer expires"), null=True, blank=True)
    offer_revisions = models.PositiveSmallIntegerField(verbose_name=_("offer revisions"), default=0)
    # 3 Agreement
    contract_signed = models.DateField(verbose_name=_("contract signed"), null=True, blank=True)
    signatories = models.CharField(verbose_name=_("signatories"), max_length=300, blank=True)
    # 4 Payment
    invoice_number = models.CharField(verbose_name=_("invoice number"), max_length=50, blank=True)
    invoice_date = models.DateField(verbose_name=_("invoice date"), null=True, blank=True)
    invoice_expires = models.DateField(verbose_name=_("invoice expires"), null=True, blank=True)
    # 5 Delivery / event
    event_date = models.DateField(_("delivery or event date"), null=True, blank=True)
    preparation_agreed = models.TextField(_("preparatory steps agreed with the customer"), blank=True)
    # 6 Closing + follow-up
    act_signed = models.DateField(verbose_name=_("act signed"), null=True, blank=True)
    survey_date = models.DateField(_("satisfaction survey date"), null=True, blank=True)
    survey_sent = models.DateField(verbose_name=_("survey sent"), null=True, blank=True)
    next_contact = models.DateField(verbose_name=_("next contact"), null=True, blank=True)
    closing_grade = models.PositiveSmallIntegerField(
        verbose_name=_("closing grade"), null=True, blank=True, help_text=_("The customer's grade, 1..5.")
    )
    # losing
    lost_reason = models.ForeignKey(
        RefusalReason, verbose_name=_("lost reason"), on_delete=models.PROTECT, null=True, blank=True
    )
    lost_comment = models.TextField(verbose_name=_("lost comment"), blank=True)
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    history = LabelledHistoricalRecords(bases=[HistoryActorName])
    objects = DealQuerySet.as_manager()

    class Meta:
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        ordering = ["-created_at"]
        indexes = [
            # amount last: a stage's open deals biggest first (the board column's list,
            # sorted by amount) walk the index instead of sorting the stage (issue 15)
            models.Index(fields=["status", "stage", "amount"], name="deal_status_stage_amount"),
            models.Index(fields=["manager", "status", "stage"]),
            # The deal list of one status by amount (a director's open deals, biggest first):
            # its first pages walk the index, where PostgreSQL sorted every open deal of the
            # scope (80,000 of 200,000 on the bench: 48 ms with two parallel workers, the
            # sort spilling to disk) to show 25.
            models.Index(fields=["status", "amount", "id"], name="deal_status_amount"),
            # The list's default order. With the key and both managers, a deep page's keys
            # (crm_project.pagination) are read from the index alone, the rows skipped by
            # the OFFSET tested against the scope without visiting the table.
            models.Index(fields=["created_at"], name="deal_created", include=["id", "manager", "customer"]),
            # The list sorted by title, stage or expected close: its first page walks one of
            # these, where PostgreSQL sorted every deal of the scope (200,000 for a director:
            # 100 ms) to show 25 (crm_project.pagination.walks_an_index).
            models.Index(fields=["title", "id"], name="deal_title_id"),
            models.Index(fields=["stage", "id"], name="deal_stage_id"),
            models.Index(fields=["expected_close", "id"], name="deal_expected_close_id"),
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
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    # 0 for a customer without a manager (the pool): the key cannot hold a NULL.
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    stage = models.PositiveSmallIntegerField(verbose_name=_("stage"), choices=Stage.choices)
    sale_type = models.CharField(verbose_name=_("sale type"), max_length=12)
    deals = models.PositiveIntegerField(
        verbose_name=_("deals"), help_text=_("Open deals; the row goes when it reaches 0.")
    )
    cents = models.BigIntegerField(
        verbose_name=_("cents"), help_text=_("Sum of their amounts, in cents (exact on SQLite too).")
    )

    class Meta:
        verbose_name = _("open deal total")
        verbose_name_plural = _("open deal totals")

    def __str__(self) -> str:
        return f"{self.manager_id}/{self.customer_manager_id} {self.stage} {self.sale_type}: {self.deals}"


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("customers.Product", verbose_name=_("product"), on_delete=models.PROTECT)
    quantity = models.DecimalField(verbose_name=_("quantity"), max_digits=12, decimal_places=3, default=1)
    price = models.DecimalField(verbose_name=_("price"), max_digits=MONEY_DIGITS, decimal_places=2)
    discount = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")

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
        verbose_name=_("deal"),
        on_delete=models.DO_NOTHING,  # the triggers remove the row with the deal
        db_constraint=False,
        primary_key=True,
        related_name="retry_due",
    )
    retry_date = models.DateField(verbose_name=_("retry date"))

    class Meta:
        verbose_name = _("retry due")
        verbose_name_plural = _("retries due")
        indexes = [models.Index(fields=["retry_date", "deal"], name="retry_due_date")]

    def __str__(self) -> str:
        return f"{self.deal_id}: retry {self.retry_date}"


class StageChange(models.Model):
    """A move of a deal between stages (or to won/lost): from, to, when, who, days spent."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.PositiveSmallIntegerField(verbose_name=_("from stage"), choices=Stage.choices, null=True)
    to_stage = models.PositiveSmallIntegerField(verbose_name=_("to stage"), choices=Stage.choices)
    to_status = models.CharField(
        verbose_name=_("to status"), max_length=6, choices=Deal.Status.choices, default=Deal.Status.OPEN
    )
    changed_at = models.DateTimeField(verbose_name=_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("changed by"), on_delete=models.SET_NULL, null=True
    )
    days_in_stage = models.PositiveIntegerField(
        verbose_name=_("days in stage"), default=0, help_text=_("Days spent in from_stage.")
    )

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["to_stage", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage} -> {self.to_stage}"


class ContractChange(models.Model):
    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="contract_changes")
    date = models.DateField(verbose_name=_("date"))
    note = models.CharField(verbose_name=_("note"), max_length=300)

    class Meta:
        verbose_name = _("contract change")
        verbose_name_plural = _("contract changes")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.note}"


class Payment(models.Model):
    """Money received for a deal (negative: a refund); each writes settlement lines."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.PROTECT, related_name="payments")
    date = models.DateField(verbose_name=_("date"))
    amount = models.DecimalField(verbose_name=_("amount"), max_digits=MONEY_DIGITS, decimal_places=2)
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.SET_NULL, null=True
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"


class DocumentTemplate(models.Model):
    """Admin-edited template of a printable document, in Django template language."""

    class Kind(models.TextChoices):
        OFFER = "offer", _("Commercial offer")
        CONTRACT = "contract", _("Contract")
        INVOICE = "invoice", _("Invoice")
        ACT = "act", _("Act")

    kind = models.CharField(verbose_name=_("kind"), max_length=10, choices=Kind.choices, unique=True)
    title = models.CharField(verbose_name=_("title"), max_length=200)
    body = models.TextField(
        verbose_name=_("body"), help_text=_("Django template; context: deal, customer, lines, manager, today.")
    )

    class Meta:
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")

    def __str__(self) -> str:
        return self.title


class DealDocument(models.Model):
    """A document of a deal: generated from a template or uploaded, with its sent date."""

    deal = models.ForeignKey(Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(
        verbose_name=_("kind"), max_length=10, choices=[*DocumentTemplate.Kind.choices, ("other", _("Other"))]
    )
    file = models.FileField(verbose_name=_("file"), upload_to="deals/%Y/%m/", blank=True)
    title = models.CharField(verbose_name=_("title"), max_length=200)
    sent_date = models.DateField(verbose_name=_("sent date"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.SET_NULL, null=True
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("deal document")
        verbose_name_plural = _("deal documents")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
