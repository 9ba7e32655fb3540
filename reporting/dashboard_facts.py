"""The dashboard's blocks counted at fill time, per manager: the funnel and refusals, ABC x
XYZ and lifecycle counts from the snapshots, net revenue per month, products in use per
customer, contacts and tasks. kpi_period_fill stores them as DashboardCell rows beside the
KPI cells, so the dashboard sums a few rows of the managers a user sees instead of
scanning deals, snapshots and the ledger while it renders (issue 12, item 8).

Every row counts for one manager (None: the pool), so any set of managers adds up:
deals and their stage changes for the deal's manager; snapshots, revenue and products
for the customer's manager; contacts and tasks for the manager who has them.

Rows are (manager_id or None, block, key, n, amount in 1/10,000, days).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from django.db.models import Count, Sum
from django.utils import timezone, translation

from crm_project.dates import months_before

from . import kpis

LIFECYCLE_PERIODS = 8
FUNNEL, REFUSAL, LEFT, WON = "funnel", "refusal", "left", "won"
MATRIX, LIFECYCLE, DYNAMICS, PRODUCTS, ACTIVITY = "matrix", "lifecycle", "dynamics", "products", "activity"


class _Everyone:
    """Whom the fill counts as: one who sees every record (customers.access.sees_everything),
    so that each manager's rows are complete whoever later reads them."""

    is_authenticated = is_active = is_superuser = True
    pk = None


EVERYONE = _Everyone()


def _manager(value) -> int | None:
    return None if value is None or pd.isna(value) or int(value) == kpis.UNASSIGNED else int(value)


def lifecycle_dates(end: date) -> list[date]:
    """The eight period ends the lifecycle block shows, oldest first."""
    from segmentation.models import ClassificationSettings

    period_months = ClassificationSettings.read().period_months
    return [months_before(end, j * period_months) for j in range(LIFECYCLE_PERIODS)][::-1]


def funnel_rows(start: date, end: date) -> list[tuple]:
    """The funnel (sales_pipeline.funnel's rules) per deal manager: reached, amount and
    converted per stage, won, refusals per stage and reason; the days in each stage left."""
    from sales_pipeline.funnel import funnel_report
    from sales_pipeline.models import Deal, StageChange

    # The period as the funnel bounds it: [start of S, start of the day after E).
    begin = timezone.make_aware(datetime.combine(start, time.min))
    stop = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    changes = StageChange.objects.filter(changed_at__gte=begin, changed_at__lt=stop)
    lost = Deal.objects.filter(status=Deal.Status.LOST, closed_at__gte=begin, closed_at__lt=stop)
    managers = set(changes.values_list("deal__manager_id", flat=True).distinct().order_by())
    managers |= set(lost.values_list("manager_id", flat=True).distinct().order_by())
    # Stored facts are read in every language: the reports' words (a refusal without a
    # reason) untranslated here, whoever's request runs the fill.
    with translation.override(None):
        reports = [(manager_id, funnel_report(user=EVERYONE, start=start, end=end, manager=manager_id))
                   for manager_id in sorted(managers)]  # fmt: skip
    rows = []
    for manager_id, report in reports:
        for stage in report.stages:
            rows.append((manager_id, FUNNEL, str(stage.stage), stage.reached, kpis.to_units(stage.amount),
                         float(stage.converted)))  # fmt: skip
        rows.append((manager_id, WON, "", report.won, kpis.to_units(report.won_amount), 0.0))
        for refusal in report.refusals:
            rows.append((manager_id, REFUSAL, f"{refusal.stage}:{refusal.reason}", refusal.count,
                         kpis.to_units(refusal.amount), 0.0))  # fmt: skip
    # Exact sums of days (the report rounds its averages), so that managers add up.
    leaving = (
        changes.filter(from_stage__isnull=False)
        .values_list("deal__manager_id", "from_stage")
        .annotate(n=Count("pk"), days=Sum("days_in_stage"))
        .order_by()
    )
    rows += [(manager_id, LEFT, str(stage), n, 0, float(days or 0)) for manager_id, stage, n, days in leaving]
    return rows


def snapshot_rows(end: date) -> list[tuple]:
    from segmentation import selectors as segments

    rows = [
        (manager_id, MATRIX, abc + xyz, n, kpis.to_units(value or 0), 0.0)
        for manager_id, abc, xyz, n, value in segments.abc_xyz_by_manager(as_of=end)
    ]
    rows += [
        (manager_id, LIFECYCLE, f"{as_of.isoformat()}:{status}", n, 0, 0.0)
        for manager_id, as_of, status, n in segments.lifecycle_by_manager(dates=lifecycle_dates(end))
    ]
    return rows


def revenue_rows(days: pd.DataFrame, customers: pd.DataFrame, end: date) -> list[tuple]:
    """Net revenue per calendar month of the twelve months to E, per customer's manager,
    from the day rows the fill reads for the sparklines (no query)."""
    if days.empty:
        return []
    first = months_before(end, 12)
    frame = days[pd.to_datetime(days["date"]) > pd.Timestamp(first)].merge(
        customers[["customer_id", "manager_id"]], on="customer_id", how="left"
    )
    frame = frame.assign(month=pd.to_datetime(frame["date"]).dt.strftime("%Y-%m"),
                         manager_id=frame["manager_id"].fillna(kpis.UNASSIGNED).astype("int64"))  # fmt: skip
    grouped = frame.groupby(["manager_id", "month"], as_index=False)["amount"].sum()
    return [(_manager(m), DYNAMICS, month, 0, int(amount), 0.0) for m, month, amount in grouped.itertuples(index=False)]


def product_rows(products: dict, customers: pd.DataFrame) -> list[tuple]:
    """Customers per number of products in use (as the fill finds them), per manager."""
    if customers.empty:
        return []
    frame = customers[["customer_id", "manager_id"]].copy()
    frame["in_use"] = frame["customer_id"].map(products).fillna(0).astype("int64")
    frame["manager_id"] = frame["manager_id"].fillna(kpis.UNASSIGNED).astype("int64")
    grouped = frame.groupby(["manager_id", "in_use"], as_index=False).size()
    return [(_manager(m), PRODUCTS, str(n), int(size), 0, 0.0) for m, n, size in grouped.itertuples(index=False)]


def activity_rows(start: date, end: date) -> list[tuple]:
    from . import selectors

    rows = []
    for manager_id, values in selectors.activity_per_manager(user=EVERYONE, start=start, end=end).items():
        rows += [(manager_id, ACTIVITY, key, int(values[key]), 0, 0.0) for key in ("contacts", "tasks", "tasks_done")]
    return rows


def hook_block(fn) -> str:
    """The block of an app's hooks.DASHBOARD_FACTS rows: "app:<its app's package>", the
    same for its DASHBOARD_WIDGETS function, which gets their sums."""
    return "app:" + fn.__module__.split(".")[0]


def hook_rows(start: date, end: date) -> list[tuple]:
    from crm_project import hooks

    rows = []
    for fn in hooks.get_hooks(hooks.DASHBOARD_FACTS):
        block = hook_block(fn)
        rows += [(_manager(m), block, key, int(n), int(amount), 0.0) for m, key, n, amount in fn(start=start, end=end)]
    return rows


def compute(*, start: date, end: date, days: pd.DataFrame, customers: pd.DataFrame, products: dict) -> list[tuple]:
    return [
        *funnel_rows(start, end),
        *snapshot_rows(end),
        *revenue_rows(days, customers, end),
        *product_rows(products, customers),
        *activity_rows(start, end),
        *hook_rows(start, end),
    ]
