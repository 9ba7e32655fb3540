"""Each deal's way through the funnel on one row, for the funnel report (issue 15)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .deals import Deal, RefusalReason
from .ledger import MONEY_DIGITS

ENTRY_STEPS = range(1, 8)  # the stages 1..6 and 7, won (sales_pipeline.funnel.WON_BIT)
LEFT_STAGES = range(1, 7)


class DealJourney(models.Model):
    """One row per deal: who it belongs to (its manager, its customer's manager, its sale
    type), its current amount, stage and loss, and the times of its stage changes as the
    funnel reads them: `entered_k`, when it reached step k moving forward (7: won), and
    `left_k`/`days_k`, when it left stage k and after how many days.

    A deal is `regular` when it reached no step twice, left no stage twice and reached
    each step no later than the next: then each column holds its only such change, and
    the funnel of any period reads the deal's row instead of its changes. The others
    (backward moves) are read from their changes.

    Kept by database triggers on deals, stage changes and customers (migration 0012) in
    the statement that writes them, whoever writes them; nothing else writes it."""

    deal = models.OneToOneField(
        Deal,
        verbose_name=_("deal"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="journey",
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    sale_type = models.CharField(verbose_name=_("sale type"), max_length=12, choices=Deal.SaleType.choices)
    amount = models.DecimalField(verbose_name=_("amount"), max_digits=MONEY_DIGITS, decimal_places=2)
    stage = models.PositiveSmallIntegerField(verbose_name=_("stage"))
    lost_at = models.DateTimeField(
        verbose_name=_("lost at"), null=True, help_text=_("The deal's closed_at if it is lost.")
    )
    lost_reason = models.ForeignKey(
        RefusalReason,
        verbose_name=_("lost reason"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
    )
    regular = models.BooleanField(verbose_name=_("regular"))
    first_at = models.DateTimeField(
        verbose_name=_("first at"), null=True, help_text=_("The deal's first stage change.")
    )
    last_at = models.DateTimeField(verbose_name=_("last at"), null=True, help_text=_("The deal's last stage change."))
    entered_1 = models.DateTimeField(verbose_name=_("entered 1"), null=True)
    entered_2 = models.DateTimeField(verbose_name=_("entered 2"), null=True)
    entered_3 = models.DateTimeField(verbose_name=_("entered 3"), null=True)
    entered_4 = models.DateTimeField(verbose_name=_("entered 4"), null=True)
    entered_5 = models.DateTimeField(verbose_name=_("entered 5"), null=True)
    entered_6 = models.DateTimeField(verbose_name=_("entered 6"), null=True)
    entered_7 = models.DateTimeField(verbose_name=_("entered 7"), null=True)
    left_1 = models.DateTimeField(verbose_name=_("left 1"), null=True)
    left_2 = models.DateTimeField(verbose_name=_("left 2"), null=True)
    left_3 = models.DateTimeField(verbose_name=_("left 3"), null=True)
    left_4 = models.DateTimeField(verbose_name=_("left 4"), null=True)
    left_5 = models.DateTimeField(verbose_name=_("left 5"), null=True)
    left_6 = models.DateTimeField(verbose_name=_("left 6"), null=True)
    days_1 = models.IntegerField(verbose_name=_("days 1"), null=True)
    days_2 = models.IntegerField(verbose_name=_("days 2"), null=True)
    days_3 = models.IntegerField(verbose_name=_("days 3"), null=True)
    days_4 = models.IntegerField(verbose_name=_("days 4"), null=True)
    days_5 = models.IntegerField(verbose_name=_("days 5"), null=True)
    days_6 = models.IntegerField(verbose_name=_("days 6"), null=True)

    class Meta:
        verbose_name = _("deal journey")
        verbose_name_plural = _("deal journeys")
        indexes = [
            # a period's deals: those whose last change is not before it
            models.Index(fields=["last_at"], name="journey_last_at"),
            models.Index(fields=["last_at"], name="journey_irregular_last_at", condition=Q(regular=False)),
            # the refusals of a period from the index alone (PostgreSQL)
            models.Index(
                fields=["lost_at"],
                name="journey_lost_at",
                condition=Q(lost_at__isnull=False),
                include=["manager", "customer_manager", "sale_type", "stage", "lost_reason", "amount"],
            ),
        ]

    def __str__(self) -> str:
        return f"journey of deal {self.deal_id}"


NO_MANAGER = 0  # FunnelDay.customer_manager of customers without a manager


class FunnelDay(models.Model):
    """The regular deals' journeys (DealJourney) summed per business day and owners (the
    deal's manager, its customer's manager or NO_MANAGER, its sale type), so that the
    funnel of a long period reads a few rows per day instead of a row per deal: per step
    k the deals that reached it that day (`reached_k`, `amount_k`, their current amounts),
    per stage the changes leaving it (`out_k`, `out_days_k`), and per pair of steps
    (k, k + 1) the deals with both, counted on the day of k (`pair_from_k`) and on the day
    of k + 1 (`pair_to_k`): sales_pipeline.funnel derives the deals that reached both in
    a period from these and the few deals that span the whole period.

    PostgreSQL only: kept by a trigger on DealJourney (migration 0013), days in the time
    zone of the migration (settings.TIME_ZONE then); empty on SQLite, whose funnel reads
    the journeys themselves."""

    day = models.DateField(verbose_name=_("day"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer manager"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    sale_type = models.CharField(verbose_name=_("sale type"), max_length=12)
    reached_1 = models.IntegerField(verbose_name=_("reached 1"), default=0)
    reached_2 = models.IntegerField(verbose_name=_("reached 2"), default=0)
    reached_3 = models.IntegerField(verbose_name=_("reached 3"), default=0)
    reached_4 = models.IntegerField(verbose_name=_("reached 4"), default=0)
    reached_5 = models.IntegerField(verbose_name=_("reached 5"), default=0)
    reached_6 = models.IntegerField(verbose_name=_("reached 6"), default=0)
    reached_7 = models.IntegerField(verbose_name=_("reached 7"), default=0)
    amount_1 = models.DecimalField(verbose_name=_("amount 1"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_2 = models.DecimalField(verbose_name=_("amount 2"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_3 = models.DecimalField(verbose_name=_("amount 3"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_4 = models.DecimalField(verbose_name=_("amount 4"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_5 = models.DecimalField(verbose_name=_("amount 5"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_6 = models.DecimalField(verbose_name=_("amount 6"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    amount_7 = models.DecimalField(verbose_name=_("amount 7"), max_digits=MONEY_DIGITS + 2, decimal_places=2, default=0)
    pair_from_1 = models.IntegerField(verbose_name=_("pair from 1"), default=0)
    pair_from_2 = models.IntegerField(verbose_name=_("pair from 2"), default=0)
    pair_from_3 = models.IntegerField(verbose_name=_("pair from 3"), default=0)
    pair_from_4 = models.IntegerField(verbose_name=_("pair from 4"), default=0)
    pair_from_5 = models.IntegerField(verbose_name=_("pair from 5"), default=0)
    pair_from_6 = models.IntegerField(verbose_name=_("pair from 6"), default=0)
    pair_to_1 = models.IntegerField(verbose_name=_("pair to 1"), default=0)
    pair_to_2 = models.IntegerField(verbose_name=_("pair to 2"), default=0)
    pair_to_3 = models.IntegerField(verbose_name=_("pair to 3"), default=0)
    pair_to_4 = models.IntegerField(verbose_name=_("pair to 4"), default=0)
    pair_to_5 = models.IntegerField(verbose_name=_("pair to 5"), default=0)
    pair_to_6 = models.IntegerField(verbose_name=_("pair to 6"), default=0)
    out_1 = models.IntegerField(verbose_name=_("out 1"), default=0)
    out_2 = models.IntegerField(verbose_name=_("out 2"), default=0)
    out_3 = models.IntegerField(verbose_name=_("out 3"), default=0)
    out_4 = models.IntegerField(verbose_name=_("out 4"), default=0)
    out_5 = models.IntegerField(verbose_name=_("out 5"), default=0)
    out_6 = models.IntegerField(verbose_name=_("out 6"), default=0)
    out_days_1 = models.BigIntegerField(verbose_name=_("out days 1"), default=0)
    out_days_2 = models.BigIntegerField(verbose_name=_("out days 2"), default=0)
    out_days_3 = models.BigIntegerField(verbose_name=_("out days 3"), default=0)
    out_days_4 = models.BigIntegerField(verbose_name=_("out days 4"), default=0)
    out_days_5 = models.BigIntegerField(verbose_name=_("out days 5"), default=0)
    out_days_6 = models.BigIntegerField(verbose_name=_("out days 6"), default=0)

    class Meta:
        verbose_name = _("funnel day")
        verbose_name_plural = _("funnel days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "manager", "customer_manager", "sale_type"], name="funnel_day_owners_unique"
            )
        ]

    def __str__(self) -> str:
        return f"funnel of {self.day}"
