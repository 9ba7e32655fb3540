"""Reporting's reads: the frames reporting.kpis computes from (through the ledger's read
interface and segmentation's snapshots), and the pre-aggregated rows the pages count.

Every function runs a constant number of queries whatever the data size.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm_project.dates import months_before
from customers.access import customer_scope, figures_scope
from customers.models import Customer, CustomerProduct, Interaction, PlannedContact
from sales_pipeline import selectors as ledger
from segmentation.models import CustomerSnapshot

from . import kpis
from .models import KpiCustomerRow, KpiFact, KpiPeriod, Plan


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def period_lines(start: date, end: date) -> pd.DataFrame:
    """The ledger's lines of [S, E] summed per customer, day, product line and manager
    on the line (amount in units): what the sale categories are decided on."""
    rows = (
        ledger.lines_between(start, end)
        .values_list("customer_id", "date", "product__line_id", "manager_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    frame = _frame(rows, ["customer_id", "date", "product_line_id", "manager_id", "amount"])
    frame["amount"] = [kpis.to_units(value) for value in frame["amount"]]
    return frame.astype({"amount": "int64"})


def first_days(end: date) -> pd.DataFrame:
    rows = ledger.first_days(up_to=end).values_list("customer_id", "first_date")
    return _frame(rows, ["customer_id", "first_date"])


def first_line_days(end: date) -> pd.DataFrame:
    rows = ledger.first_line_days(up_to=end).values_list("customer_id", "product_line_id", "first_date")
    return _frame(rows, ["customer_id", "product_line_id", "first_date"])


def customers_frame() -> pd.DataFrame:
    """Every customer: assigned manager and creation date in the business time zone."""
    rows = Customer.objects.values_list("pk", "manager_id", "created_at")
    frame = _frame(rows, ["customer_id", "manager_id", "created"])
    if not frame.empty:
        moments = pd.to_datetime(frame["created"], utc=True).dt.tz_convert(settings.TIME_ZONE)
        frame["created"] = moments.dt.tz_localize(None).dt.normalize()
    return frame


def snapshot_frame(as_of: date) -> pd.DataFrame:
    rows = CustomerSnapshot.objects.filter(as_of=as_of).values_list("customer_id", "status", "abc", "xyz")
    return _frame(rows, ["customer_id", "status", "abc", "xyz"])


def products_by_customer() -> dict[int, dict]:
    """Each customer's products in use, target products in use, target count and
    maturity (customers.portrait's rule), one query over all customers."""
    from customers.portrait import with_maturity

    rows = with_maturity(Customer.objects.all()).values_list("pk", "in_use_count", "target_count", "maturity")
    in_use = dict(
        CustomerProduct.objects.filter(status=CustomerProduct.Status.IN_USE)
        .values_list("customer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {
        pk: {"products_in_use": in_use.get(pk, 0), "target_in_use": targets_in_use, "target_count": targets,
             "maturity": share}  # fmt: skip
        for pk, targets_in_use, targets, share in rows
    }


def day_rows(end: date, months: int = 12) -> pd.DataFrame:
    rows = ledger.day_sums(start=months_before(end, months) + timedelta(days=1), end=end).values_list(
        "customer_id", "date", "amount"
    )
    return _frame(rows, ["customer_id", "date", "amount"])


#
# The pages' reads: counting pre-aggregated rows
#


def period_of(start: date, end: date) -> KpiPeriod | None:
    return KpiPeriod.objects.filter(start=start, end=end).first()


def manager_rows(*, user, period: KpiPeriod) -> dict:
    """{manager_id or None: {kpi: (customers, amount units)}} for the facts `user` sees."""
    # (customer, manager, kpi) is unique: a plain count is the distinct customers.
    rows = (
        KpiFact.objects.visible_to(user)
        .filter(period=period)
        .values_list("manager_id", "kpi")
        .annotate(customers=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    out: dict = {}
    for manager_id, kpi, customers, amount in rows:
        out.setdefault(manager_id, {})[kpi] = (customers, int(amount or 0))
    return out


def team_rows(*, user, period: KpiPeriod) -> dict:
    """{(team id, team name): {kpi: (distinct customers, amount)}} over each team's
    managers, for the line-based kpis."""
    facts = KpiFact.objects.visible_to(user).filter(period=period, manager__team_membership__isnull=False)
    columns = ("manager__team_membership__team_id", "manager__team_membership__team__name", "kpi")
    # Only the line-based figures: the customer-based ones of a team are the sum of its
    # managers' rows (a customer has one manager), added by kpi_table without a query.
    rows = (
        facts.filter(kpi__in=kpis.CATEGORIES)
        .values_list(*columns)
        .annotate(customers=Count("customer_id", distinct=True), amount=Sum("amount"))
        .order_by()
    )
    out: dict = {}
    for team_id, team, kpi, customers, amount in rows:
        out.setdefault((team_id, team), {})[kpi] = (customers, int(amount or 0))
    return out


def total_row(*, user, period: KpiPeriod) -> dict:
    """{kpi: (distinct customers, amount)} over everything `user` sees: one customer
    counted once however many managers it counts for."""
    facts = KpiFact.objects.visible_to(user).filter(period=period)
    return {kpi: (customers, int(amount or 0)) for kpi, customers, amount in _counted(facts, ("kpi",))}


def _counted(facts, columns: tuple[str, ...]) -> list[tuple]:
    """Customers and sums of `facts` per `columns` (ending with kpi), in two queries: a
    customer counts for one manager in a customer-based figure, so a plain count is exact
    there; only the line-based ones (a customer's lines recorded by two managers) need
    the dearer COUNT(DISTINCT), over far fewer rows."""
    lines = facts.filter(kpi__in=kpis.CATEGORIES).values_list(*columns)
    others = facts.exclude(kpi__in=kpis.CATEGORIES).values_list(*columns)
    return [
        *lines.annotate(customers=Count("customer_id", distinct=True), amount=Sum("amount")).order_by(),
        *others.annotate(customers=Count("pk"), amount=Sum("amount")).order_by(),
    ]


def drill_down(*, user, period: KpiPeriod, kpi: str, row: str):
    """The facts behind one number of the table, as `user` sees them. `row`: a manager's
    id, "none" (unassigned), "team-<id>" or "all" (TOTAL). Customers counted once: the
    facts of one customer for two managers (TOTAL, a team) are summed into one row."""
    facts = KpiFact.objects.visible_to(user).filter(period=period, kpi=kpi)
    if row == "none":
        facts = facts.filter(manager__isnull=True)
    elif row.startswith("team-"):
        facts = facts.filter(manager__team_membership__team_id=int(row[5:]))
    elif row != "all":
        facts = facts.filter(manager_id=int(row))
    columns = ("customer_id", "customer__name", "customer__external_ref", "customer__manager__username")
    return facts.values(*columns).annotate(amount=Sum("amount")).order_by("customer__name", "customer_id")


def customer_rows(*, user, period: KpiPeriod):
    return KpiCustomerRow.objects.visible_to(user).filter(period=period).select_related("customer", "customer__manager")


def plans_by_manager(*, user, start: date, end: date) -> dict[int, dict]:
    """Each visible manager's targets summed over the months that start in [S, E]."""
    rows = (
        Plan.objects.filter(figures_scope(user), month__gte=start.replace(day=1), month__lte=end)
        .values_list("manager_id")
        .annotate(revenue=Sum("revenue"), primary=Sum("primary"), new_direction=Sum("new_direction"))
        .order_by()
    )
    return {m: {"revenue": r, "primary": p, "new_direction": n} for m, r, p, n in rows}


def monthly_revenue(*, user, start: date, end: date) -> list[tuple[date, Decimal]]:
    """Net revenue per month in [S, E] of the customers `user` sees, from the ledger's
    day table (a tenth of the lines; money in units of 1/10,000)."""
    rows = (
        ledger.day_sums(start=start, end=end)
        .filter(customer_scope(user, prefix="customer__"))
        .annotate(month=TruncMonth("date"))
        .values_list("month")
        .annotate(total=Sum("amount"))
        .order_by("month")
    )
    return [(month, kpis.from_units(total)) for month, total in rows]


def activity_per_manager(*, user, start: date, end: date) -> dict[int, dict]:
    """Interactions logged and contacts planned (due) in [S, E] per manager."""
    begin = timezone.make_aware(datetime.combine(start, time.min))
    stop = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    contacts = (
        Interaction.objects.filter(figures_scope(user), occurred_at__gte=begin, occurred_at__lt=stop)
        .values_list("manager_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    planned = (
        PlannedContact.objects.filter(figures_scope(user), due_date__gte=start, due_date__lte=end)
        .values_list("manager_id")
        .annotate(n=Count("pk"), done=Count("pk", filter=Q(status=PlannedContact.Status.DONE)))
        .order_by()
    )
    out: dict[int, dict] = {}
    for manager_id, n in contacts:
        out.setdefault(manager_id, {"contacts": 0, "tasks": 0, "tasks_done": 0})["contacts"] = n
    for manager_id, n, done in planned:
        row = out.setdefault(manager_id, {"contacts": 0, "tasks": 0, "tasks_done": 0})
        row["tasks"], row["tasks_done"] = n, done
    return out


def facts_frame(period: KpiPeriod) -> pd.DataFrame:
    """A period's stored facts as reporting.kpis' facts frame (manager 0: unassigned)."""
    rows = KpiFact.objects.filter(period=period).values_list("customer_id", "manager_id", "kpi", "amount")
    frame = _frame(rows, kpis.FACT_COLUMNS)
    frame["manager_id"] = frame["manager_id"].fillna(kpis.UNASSIGNED).astype("int64")
    return frame.astype({"customer_id": "int64", "amount": "int64"})


def team_names() -> dict[int, str]:
    """Manager id -> the name of their team."""
    from customers.models import TeamMembership

    return dict(TeamMembership.objects.values_list("user_id", "team__name"))
