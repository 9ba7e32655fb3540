"""Loyalty programs, cards and their points ledger; retention campaigns (domain.md section 6).

The points ledger is the balance: Card.balance is a cache that every service changes in the
same transaction, under the card's row lock, as the entries it writes (check_loyalty checks it).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import ExtractDay, ExtractMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.access import customer_scope

PERCENT = {"max_digits": 5, "decimal_places": 2}
MONEY = {"max_digits": 18, "decimal_places": 2}
CLASS_CHOICES = [
    ("", _("any")),
    ("A", pgettext_lazy("ABC class", "A")),
    ("B", pgettext_lazy("ABC class", "B")),
    ("C", pgettext_lazy("ABC class", "C")),
]


class Program(models.Model):
    class Kind(models.TextChoices):
        BEARER = "bearer", _("Bearer card, flat discount")
        PERSONAL = "personal", _("Personal card, fixed discount")
        TIERED = "tiered", _("Tiered card")
        SCALE = "scale", _("Progressive discount scale")
        POINTS = "points", _("Bonus points")
        VIP = "vip", _("VIP service")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    number_prefix = models.CharField(
        _("card number prefix"), max_length=4, default="7", help_text=_("Digits that start its card numbers.")
    )
    discount_percent = models.DecimalField(
        _("discount %"), default=0, help_text=_("Bearer and personal cards: the discount."), **PERCENT
    )
    # tiered
    tier_window_months = models.PositiveSmallIntegerField(
        _("tier window (months)"), default=12, help_text=_("Net revenue counts over this many months.")
    )
    tier_grace_days = models.PositiveSmallIntegerField(
        _("grace before downgrade (days)"), default=90, help_text=_("A lower qualification must last this long.")
    )
    # bonus points
    earn_rate = models.DecimalField(
        _("points per currency unit"),
        max_digits=8,
        decimal_places=4,
        default=0,
        help_text=_("Points earned per unit paid (e.g. 0.1 = one point per 10)."),
    )
    point_value = models.DecimalField(
        _("value of a point"), max_digits=8, decimal_places=4, default=0, help_text=_("Money one point is worth.")
    )
    expiry_days = models.PositiveIntegerField(
        _("points expire after (days)"), null=True, blank=True, help_text=_("Empty: points never expire.")
    )
    # VIP service
    vip_conditions = models.TextField(_("VIP service conditions"), blank=True)
    vip_personal_manager = models.BooleanField(_("personal manager"), default=False)
    vip_priority_support = models.BooleanField(_("priority support"), default=False)
    vip_free_delivery = models.BooleanField(_("free delivery"), default=False)
    # gifts by class
    gift_a = models.CharField(_("gift for class A"), max_length=200, blank=True)
    gift_b = models.CharField(_("gift for class B"), max_length=200, blank=True)
    gift_c = models.CharField(_("gift for class C"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")

    def __str__(self) -> str:
        return self.name

    def gift_for(self, abc: str) -> str:
        return {"A": self.gift_a, "B": self.gift_b, "C": self.gift_c}.get(abc or "", "")


class Tier(models.Model):
    """A level of a tiered program, reached by class or net revenue over the window."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("program"))
    name = models.CharField(_("name"), max_length=50)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("Higher is better; 1 is the entry tier."))
    min_class = models.CharField(_("from ABC class"), max_length=1, choices=CLASS_CHOICES, blank=True)
    min_revenue = models.DecimalField(_("from net revenue in the window"), null=True, blank=True, **MONEY)
    discount_percent = models.DecimalField(_("discount %"), default=0, **PERCENT)

    class Meta:
        ordering = ["program", "rank"]
        constraints = [models.UniqueConstraint(fields=["program", "rank"], name="loyalty_tier_rank_unique")]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name


class ScaleBracket(models.Model):
    """Progressive scale: purchases from `min_amount` on get `discount_percent`."""

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="brackets", verbose_name=_("program")
    )
    min_amount = models.DecimalField(_("from amount"), **MONEY)
    discount_percent = models.DecimalField(_("discount %"), **PERCENT)

    class Meta:
        ordering = ["program", "min_amount"]
        constraints = [models.UniqueConstraint(fields=["program", "min_amount"], name="loyalty_bracket_amount_unique")]
        verbose_name = _("scale bracket")
        verbose_name_plural = _("scale brackets")

    def __str__(self) -> str:
        return f"{self.min_amount}: {self.discount_percent}%"


class LineEarnRate(models.Model):
    """Bonus points: a product line that earns at its own rate."""

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="line_rates", verbose_name=_("program")
    )
    product_line = models.ForeignKey(
        "customers.ProductLine", on_delete=models.CASCADE, verbose_name=_("product line")
    )
    earn_rate = models.DecimalField(_("points per currency unit"), max_digits=8, decimal_places=4)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "product_line"], name="loyalty_line_rate_unique")]
        verbose_name = _("line earn rate")
        verbose_name_plural = _("line earn rates")

    def __str__(self) -> str:
        return f"{self.product_line}: {self.earn_rate}"


class CardQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A bearer card (no holder) belongs to no manager: only those who see everything see it."""
        from customers.access import sees_everything

        if user.is_authenticated and user.is_active and sees_everything(user):
            return self
        return self.filter(Q(holder__isnull=False) & customer_scope(user, prefix="holder__"))


class Card(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        EXPIRED = "expired", _("Expired")

    number = models.CharField(_("number"), max_length=20, unique=True)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cards", verbose_name=_("program"))
    holder = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loyalty_cards",
        verbose_name=_("holder"),
        help_text=_("Empty: a bearer card."),
    )
    tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("tier")
    )
    floor_tier = models.ForeignKey(
        Tier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("manual floor tier"),
        help_text=_("The card never drops below this tier."),
    )
    below_since = models.DateField(
        _("below since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("The day a lower qualification was first seen."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    balance = models.IntegerField(
        _("points"), default=0, editable=False, help_text=_("Cache of the sum of the entries.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        indexes = [
            models.Index(fields=["holder", "status"]),
            # The agenda's gifts due (loyalty.panels): active cards whose issue day's (month, day)
            # falls in the coming week, as index ranges, not a pass over every card (issue 15)
            models.Index(
                ExtractMonth("issued_on"),
                ExtractDay("issued_on"),
                name="card_anniversary",
                condition=Q(status="active"),
            ),
        ]
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_card_balance_not_negative")]
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("loyalty:card_detail", args=[self.pk])


class CardTotal(models.Model):
    """The cards counted and their points summed per (holder's manager, program, tier,
    status), so that the points liability and the tier distribution read a few rows
    instead of joining every card with its holder (issue 15: 10-17 ms at 10,000 cards).

    Kept by database triggers (migration 0007) in the statement that writes cards
    (insert, delete, updates of balance, status, tier, program or holder) or reassigns a
    customer (its cards move to the new manager's rows), on PostgreSQL and SQLite,
    whoever writes. The application never writes it. Read through selectors with
    customers.access.counted_scope."""

    pk = models.CompositePrimaryKey("holder_manager", "program", "tier", "status")
    # The holder's manager: 0 for a holder without one (the pool), -1 for a bearer card
    # (no holder), which only those who see everything see. The key cannot hold a NULL.
    holder_manager = models.IntegerField(_("holder's manager"))
    # No database key: the rows come from cards, whose own keys check the programs.
    program = models.ForeignKey(
        Program,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("program"),
    )
    tier = models.IntegerField(_("tier"), help_text=_("The tier's id, 0 for none."))
    status = models.CharField(_("status"), max_length=10, choices=Card.Status.choices)
    cards = models.PositiveIntegerField(_("cards"), help_text=_("Cards; the row goes when it reaches 0."))
    points = models.BigIntegerField(_("points"), help_text=_("Sum of their balances."))

    class Meta:
        verbose_name = _("card total")
        verbose_name_plural = _("card totals")

    def __str__(self) -> str:
        return f"{self.holder_manager} {self.program_id}/{self.tier} {self.status}: {self.cards}"


class PointsEntry(models.Model):
    """One line of a card's points ledger. Accruals are lots: each has its own expiry date
    and `remaining`, what spending and expiry have left of it (soonest expiry spent first)."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("Accrual")
        REVERSAL = "reversal", _("Reversal")
        REDEMPTION = "redemption", _("Redemption")
        EXPIRY = "expiry", _("Expiry")
        ADJUSTMENT = "adjustment", _("Adjustment")

    # No index of its own: the unique (card, line) index leads with the card. The database
    # key stays: the points ledger is money, and its integrity must not rest on every
    # writer going through the services (its check costs the nightly accrual about a
    # second at COMMIT; bench/README.md).
    card = models.ForeignKey(
        Card, on_delete=models.CASCADE, related_name="entries", db_index=False, verbose_name=_("card")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"), help_text=_("Positive adds, negative takes."))
    remaining = models.IntegerField(
        _("remaining"), default=0, help_text=_("Lots (points added): what is left unspent.")
    )
    date = models.DateField(_("date"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    # The settlement line an accrual or a reversal comes from: a line counts once per card.
    # No database key and DO_NOTHING: deleting a wrong ledger line (admin, an import's
    # rollback) must not depend on loyalty; the points entry stays as history.
    line = models.ForeignKey(
        "sales_pipeline.SettlementLine",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        # Looked up only with the card (the unique (card, line) index): one index less to
        # keep up on the nightly 100,000 inserts.
        db_index=False,
        verbose_name=_("line"),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    # Set on redemptions and adjustments only; never looked up by: no index to keep up on
    # the 100,000 accruals of a night.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            models.UniqueConstraint(fields=["card", "line"], name="loyalty_entry_line_once_per_card"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="loyalty_entry_remaining_not_negative"),
        ]
        indexes = [
            models.Index(fields=["card", "expires_on"], condition=Q(remaining__gt=0), name="loyalty_open_lots"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id} {self.get_kind_display()} {self.points}"


class TierChange(models.Model):
    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("card"))
    old_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from")
    )
    new_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("to")
    )
    reason = models.CharField(_("reason"), max_length=200)
    date = models.DateField(_("date"))
    announced_on = models.DateField(_("announced on"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("changed by")
    )

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")

    def __str__(self) -> str:
        return f"{self.card_id}: {self.old_tier_id} -> {self.new_tier_id}"


#
# Retention campaigns
#


class OptOut(models.Model):
    """The customer asked for no more campaign messages: respected by every campaign."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="loyalty_opt_out", verbose_name=_("customer")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")

    def __str__(self) -> str:
        return str(self.customer_id)


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, user):
        # Campaigns are company-wide: directors and administrators plan them (permission).
        return self


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        STOPPED = "stopped", _("Stopped")

    name = models.CharField(_("name"), max_length=100)
    # the saved customer filter
    statuses = models.JSONField(_("lifecycle statuses"), default=list, blank=True)
    classes = models.JSONField(_("ABC classes"), default=list, blank=True)
    no_purchase_months = models.PositiveSmallIntegerField(_("no purchase for (months)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    started_on = models.DateField(_("started on"), null=True, blank=True)
    finished_on = models.DateField(_("finished on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("retention campaign")
        verbose_name_plural = _("retention campaigns")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("loyalty:campaign_detail", args=[self.pk])

    def filter_parts(self) -> list[str]:
        """The saved filter as people read it: one phrase per condition (none: everyone)."""
        from segmentation.models import STATUS_LABELS as labels

        parts = []
        if self.statuses:
            statuses = ", ".join(str(labels.get(code, code)) for code in self.statuses)
            parts.append(_("status %(statuses)s") % {"statuses": statuses})
        if self.classes:
            parts.append(_("class %(classes)s") % {"classes": ", ".join(self.classes)})
        if self.no_purchase_months:
            parts.append(_("no purchase for %(n)s months") % {"n": self.no_purchase_months})
        return parts or [_("everyone who has not opted out")]


class CampaignStep(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="steps", verbose_name=_("campaign")
    )
    position = models.PositiveSmallIntegerField(_("step"))
    delay_days = models.PositiveSmallIntegerField(
        _("days after the previous step"), default=0, help_text=_("The first step: days after the start.")
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(
        _("message"), help_text=_("Django template: {{ customer }}, {{ link }}; the unsubscribe link is added.")
    )

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [models.UniqueConstraint(fields=["campaign", "position"], name="loyalty_step_position_unique")]
        verbose_name = _("campaign step")
        verbose_name_plural = _("campaign steps")

    def __str__(self) -> str:
        return f"{self.position}. {self.subject}"


class CampaignMember(models.Model):
    """A customer picked by the campaign's filter when it started; drops out on buying or opting out."""

    class Dropped(models.TextChoices):
        BOUGHT = "bought", _("Bought")
        OPTED_OUT = "opted_out", _("Opted out")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="members", verbose_name=_("campaign")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    joined_on = models.DateField(_("joined on"))
    dropped = models.CharField(_("dropped"), max_length=10, choices=Dropped.choices, blank=True)
    dropped_on = models.DateField(_("dropped on"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "customer"], name="loyalty_member_once")]
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.customer_id}"


class CampaignMessage(models.Model):
    """One step's message to one member: written before sending, so a retried task never
    sends twice. A transient mail failure waits for a retry (bounded, backing off); see
    loyalty.campaigns._send_one for what counts as sent."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        RETRY = "retry", _("Waiting to retry")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    step = models.ForeignKey(
        CampaignStep, on_delete=models.CASCADE, related_name="messages", verbose_name=_("step")
    )
    member = models.ForeignKey(
        CampaignMember, on_delete=models.CASCADE, related_name="messages", verbose_name=_("member")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(_("error"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, help_text=_("Times sending was tried."))
    next_attempt_at = models.DateTimeField(
        _("next attempt at"), null=True, blank=True, help_text=_("When a retry is due.")
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_on = models.DateField(
        _("sent on"), null=True, blank=True, help_text=_("The business day it went out (purchases count from it).")
    )
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["step", "member"], name="loyalty_message_once")]
        verbose_name = _("campaign message")
        verbose_name_plural = _("campaign messages")

    def __str__(self) -> str:
        return f"{self.step_id}: {self.member_id} {self.get_status_display()}"


class MeasureFill(models.Model):
    """A date whose loyalty measures are stored per customer's manager (MeasureCount), so
    the measures page sums a few rows instead of reading every visible customer's day rows
    per request (issue 15). Written by loyalty.measure_store.measures_fill only (nightly,
    and after the writes that mark it stale); a date without a fresh fill counted with the
    current settings is computed live."""

    as_of = models.DateField(_("as of"), unique=True)
    period_months = models.PositiveSmallIntegerField(
        _("period months"), help_text=_("The lifecycle period the figures were counted with.")
    )
    window_months = models.PositiveSmallIntegerField(
        _("window months"), help_text=_("The analysis window the figures were counted with.")
    )
    filled_at = models.DateTimeField(_("filled at"))
    stale_since = models.DateTimeField(
        _("stale since"),
        null=True,
        blank=True,
        help_text=_(
            "Set by a ledger write of this date or earlier, or a customer's manager or referrer changed "
            "(a trigger on customers, migration 0006): read live until filled again."
        ),
    )

    class Meta:
        verbose_name = _("measure fill")
        verbose_name_plural = _("measure fills")

    def __str__(self) -> str:
        if self.stale_since:
            return _("%(date)s (stale)") % {"date": self.as_of}
        return str(self.as_of)


class MeasureCount(models.Model):
    """One manager's customers' sums at one filled date: what the page adds up for the
    managers a user sees (customers.access.counted_scope). Manager 0 is the unassigned
    pool. Money in exact integers of 1/10,000, as the day table's."""

    fill = models.ForeignKey(MeasureFill, on_delete=models.CASCADE, related_name="counts", verbose_name=_("fill"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    buyers = models.PositiveIntegerField(
        _("buyers"), help_text=_("Customers with a purchase in the last four periods.")
    )
    loyal_buyers = models.PositiveIntegerField(
        _("loyal buyers"), help_text=_("Of them, those with purchases in two periods or more.")
    )
    revenue_units = models.BigIntegerField(_("revenue units"), help_text=_("Revenue in the window, in 1/10,000."))
    existing_units = models.BigIntegerField(
        _("existing units"), help_text=_("Of it, from customers who bought before the window.")
    )
    referral_units = models.BigIntegerField(
        _("referral units"), help_text=_("Of it, from customers referred by another.")
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["fill", "manager"], name="loyalty_measure_count_once")]
        verbose_name = _("measure count")
        verbose_name_plural = _("measure counts")

    def __str__(self) -> str:
        return f"{self.fill_id} manager {self.manager_id}: {self.buyers} buyers"
