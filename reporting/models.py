"""Reporting's tables: the pre-aggregated KPI rows the pages read, plans, health thresholds.

A `KpiPeriod` is one computed period [S, E]; its `KpiFact` rows are the facts of
reporting.kpis (one per customer, figure and the manager it counts for) and its
`KpiCustomerRow` rows the by-customer table. They are written only by
services.kpi_period_fill (the nightly job, the Refresh button, the export command), in one
transaction that replaces the period's rows: idempotent, and a failed fill leaves the
previous rows. Pages count these rows with a constant number of queries and never
recompute while rendering a table they already have.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.access import owned_scope

MONEY = {"max_digits": 18, "decimal_places": 2}


class KpiPeriod(models.Model):
    start = models.DateField(_("start"))
    end = models.DateField(_("end"))
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    seconds = models.FloatField(_("seconds"), default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    # When a ledger write first touched this period's dates since its last fill (None:
    # the rows are current). Set by ledger writes (services.kpi_periods_mark_stale), cleared
    # by a fill that started after it; a fill that dies leaves it set, so the next run redoes it.
    stale_since = models.DateTimeField(_("stale since"), null=True, blank=True)

    class Meta:
        verbose_name = _("KPI period")
        constraints = [models.UniqueConstraint(fields=["start", "end"], name="one_kpi_period_per_range")]

    def __str__(self) -> str:
        return f"{self.start} – {self.end}"


class KpiFactQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A fact counts for a manager: managers see their own, directors their teams'
        and the pool's, administrators everything (customers.access.figures_scope)."""
        from customers.access import figures_scope

        return self.filter(figures_scope(user))


class KpiFact(models.Model):
    """One customer counted in one figure for one manager (None: unassigned) in one
    period; `amount` is the sum of its lines there, in 1/10,000 (0 for customer figures)."""

    period = models.ForeignKey(KpiPeriod, on_delete=models.CASCADE, related_name="facts", verbose_name=_("period"))
    # Derived rows, rewritten per period: no database check per row (as the snapshots).
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=_("customer"),
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    kpi = models.CharField(_("KPI"), max_length=16)
    amount = models.BigIntegerField(_("amount"), default=0)
    # The customer counts in this line-based figure for more than one manager (lines
    # recorded by two people): the only facts a distinct count over managers must read.
    shared = models.BooleanField(_("shared"), default=False)

    objects = KpiFactQuerySet.as_manager()

    class Meta:
        verbose_name = _("KPI fact")
        indexes = [
            models.Index(fields=["period", "kpi", "manager"], name="kpi_fact_period_kpi_manager"),
            models.Index(
                fields=["period", "kpi"], condition=models.Q(shared=True), name="kpi_fact_shared"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}: {self.kpi} {self.customer_id} for {self.manager_id}"


class KpiCellQuerySet(models.QuerySet):
    def visible_to(self, user):
        from customers.access import figures_scope

        return self.filter(figures_scope(user))


class KpiCell(models.Model):
    """One number of the table by manager, counted at fill time: the customers counted
    in `kpi` for `manager` (None: unassigned) in the period and the sum of their amounts.
    A page sums a handful of these instead of counting facts; a team's or the total's
    distinct count subtracts what the `shared` facts counted twice."""

    period = models.ForeignKey(KpiPeriod, on_delete=models.CASCADE, related_name="cells", verbose_name=_("period"))
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    kpi = models.CharField(_("KPI"), max_length=16)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    amount = models.BigIntegerField(_("amount"), default=0)

    objects = KpiCellQuerySet.as_manager()

    class Meta:
        verbose_name = _("KPI cell")
        indexes = [models.Index(fields=["period", "manager"], name="kpi_cell_period_manager")]

    def __str__(self) -> str:
        return f"{self.period_id}: {self.kpi} for {self.manager_id}"


class DashboardCell(models.Model):
    """One number of a dashboard block for one manager (None: the pool) in one period,
    counted at fill time (reporting.dashboard_facts): the dashboard sums the rows of
    the managers a user sees. `block` and `key` say what it is (a funnel stage, an ABC x
    XYZ cell, a month...); `amount` is money in 1/10,000, `days` days or a second count."""

    period = models.ForeignKey(
        KpiPeriod, on_delete=models.CASCADE, related_name="dashboard_cells", verbose_name=_("period")
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    block = models.CharField(_("block"), max_length=16)
    key = models.CharField(_("key"), max_length=200, blank=True)
    n = models.BigIntegerField(_("n"), default=0)
    amount = models.BigIntegerField(_("amount"), default=0)
    days = models.FloatField(_("days"), default=0)

    objects = KpiCellQuerySet.as_manager()

    class Meta:
        verbose_name = _("dashboard cell")
        indexes = [models.Index(fields=["period", "manager"], name="dashboard_cell_period_manager")]

    def __str__(self) -> str:
        return f"{self.period_id}: {self.block} {self.key} for {self.manager_id}"


class KpiCustomerRowQuerySet(models.QuerySet):
    def visible_to(self, user):
        # On the row's copy of the customer's manager (kept by reassignments): the page
        # counts and sorts without joining the customers.
        return self.filter(owned_scope(user, manager="manager", customer="customer_id"))


class KpiCustomerRow(models.Model):
    """The by-customer table of one period: status and classes at S (as of S - 1) and
    at E, sums per sale category, and the monthly sums of the year to E (sparkline)."""

    period = models.ForeignKey(
        KpiPeriod, on_delete=models.CASCADE, related_name="customer_rows", verbose_name=_("period")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
        verbose_name=_("customer"),
    )
    # Copies of the customer's, for the page's scope and sort on this table alone: the
    # manager is kept current by reassignments (services.customer_rows_follow), the
    # name (the sort key; the page shows the customer's own) is as of the fill.
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    name = models.CharField(_("customer"), max_length=200, blank=True)
    status_start = models.CharField(_("status at start"), max_length=10, blank=True)
    status_end = models.CharField(_("status at end"), max_length=10, blank=True)
    abc_start = models.CharField(_("ABC at start"), max_length=1, blank=True)
    abc_end = models.CharField(_("ABC at end"), max_length=1, blank=True)
    xyz_start = models.CharField(_("XYZ at start"), max_length=1, blank=True)
    xyz_end = models.CharField(_("XYZ at end"), max_length=1, blank=True)
    primary_amount = models.DecimalField(_("primary sales"), max_digits=20, decimal_places=4, default=0)
    repeat_amount = models.DecimalField(_("repeat sales"), max_digits=20, decimal_places=4, default=0)
    new_direction_amount = models.DecimalField(_("new-direction sales"), max_digits=20, decimal_places=4, default=0)
    monthly = models.JSONField(_("monthly sales"), default=list, help_text=_("Twelve monthly sums to E, oldest first."))
    # Products in use and maturity are not stored: the page reads them live for its rows
    # (selectors.customer_rows), since product statuses have no history to ask "as of E".

    objects = KpiCustomerRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("KPI customer row")
        constraints = [models.UniqueConstraint(fields=["period", "customer"], name="one_kpi_row_per_customer")]
        indexes = [
            models.Index(fields=["period", "name", "id"], name="kpi_row_period_name"),
            models.Index(fields=["period", "manager", "name"], name="kpi_row_period_manager_name"),
        ]

    def __str__(self) -> str:
        return f"{self.period_id}: {self.customer_id}"


class Plan(models.Model):
    """A manager's targets for one month, set by directors. Plans are compared with the
    actual figures; editing one never changes a figure (those come from the ledger)."""

    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_plans", verbose_name=_("manager")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    revenue = models.DecimalField(_("revenue"), default=Decimal(0), **MONEY)
    primary = models.DecimalField(_("primary sales"), default=Decimal(0), **MONEY)
    new_direction = models.DecimalField(_("new-direction sales"), default=Decimal(0), **MONEY)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sales plan")
        ordering = ["month", "manager__username"]
        constraints = [models.UniqueConstraint(fields=["manager", "month"], name="one_plan_per_manager_and_month")]

    def __str__(self) -> str:
        return f"{self.manager} {self.month:%Y-%m}"

    def clean(self):
        if self.month and self.month.day != 1:
            raise ValidationError({"month": _("Give the first day of the month.")})


class HealthThreshold(models.Model):
    """The grade of one process-health share, edited in admin: '+' from `good`, '+/-'
    from `fair`, '-' below (shares 0..1)."""

    key = models.CharField(_("key"), max_length=50, unique=True)
    good = models.DecimalField(_("'+' from share"), max_digits=4, decimal_places=3, default=Decimal("0.900"))
    fair = models.DecimalField(_("'+/-' from share"), max_digits=4, decimal_places=3, default=Decimal("0.700"))

    class Meta:
        verbose_name = _("process health threshold")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    def clean(self):
        if not Decimal(0) <= self.fair <= self.good <= Decimal(1):
            raise ValidationError(_("Thresholds must satisfy 0 ≤ '+/-' ≤ '+' ≤ 1."))


# Process health's counts, kept by database triggers (migration 0004) in the statement that
# writes the records counted, on PostgreSQL and SQLite, whoever writes: the page reads a few
# rows per manager instead of counting every visible deal, customer and recent interaction
# (issue 15). The application never writes them; reporting.health reads them within the
# user's scope and the tests compare them with the live counts.


class DealCheckTotal(models.Model):
    """The deals counted per (deal manager, customer's manager; 0 for a pool customer) for
    the deal checks: lost (with a refusal reason), offers sent (with an expiry date), won
    (with the satisfaction survey sent)."""

    pk = models.CompositePrimaryKey("manager", "customer_manager")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    # 0 for a pool customer: no database key (the rows come from deals and customers)
    customer_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("customer manager"),
    )
    deals = models.PositiveIntegerField(_("deals"), help_text=_("Deals; the row goes when it reaches 0."))
    lost = models.PositiveIntegerField(_("lost"))
    lost_with_reason = models.PositiveIntegerField(_("lost with reason"))
    offered = models.PositiveIntegerField(_("offered"))
    offered_with_expiry = models.PositiveIntegerField(_("offered with expiry"))
    won = models.PositiveIntegerField(_("won"))
    won_with_survey = models.PositiveIntegerField(_("won with survey"))

    class Meta:
        verbose_name = _("deal check total")

    def __str__(self) -> str:
        return f"{self.manager_id}/{self.customer_manager_id}: {self.deals}"


class CustomerCheckTotal(models.Model):
    """The customers counted per manager (0 for the pool), and those with a target segment."""

    manager = models.IntegerField(_("manager"), primary_key=True, help_text=_("The manager's id, 0 for none."))
    customers = models.PositiveIntegerField(_("customers"), help_text=_("Customers; the row goes when it reaches 0."))
    with_segment = models.PositiveIntegerField(_("with segment"))

    class Meta:
        verbose_name = _("customer check total")

    def __str__(self) -> str:
        return f"{self.manager}: {self.with_segment}/{self.customers}"


class InteractionDayTotal(models.Model):
    """The interactions counted per (manager, UTC day of occurred_at), and those some planned
    contact was planned in. UTC days, not local ones: the rows do not depend on the time
    zone setting; reporting.health counts the part of the first local day that lies in
    the UTC day before live."""

    pk = models.CompositePrimaryKey("manager", "day")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("manager"),
    )
    day = models.DateField(_("day"))
    interactions = models.PositiveIntegerField(
        _("interactions"), help_text=_("Interactions; the row goes when it reaches 0.")
    )
    planned = models.PositiveIntegerField(
        _("planned"), help_text=_("Of them, those some planned contact was planned in.")
    )

    class Meta:
        verbose_name = _("interaction day total")

    def __str__(self) -> str:
        return f"{self.manager_id} {self.day}: {self.planned}/{self.interactions}"
