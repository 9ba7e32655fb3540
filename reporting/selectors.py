"""Reporting's reads: the frames reporting.kpis computes from (through the ledger's read
interface and segmentation's snapshots), and the pre-aggregated rows the pages count.

Every function runs a constant number of queries whatever the data size.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from crm_project.dates import months_before
from customers.access import customer_scope, figures_scope
from customers.models import Customer, CustomerProduct, Interaction, PlannedContact
from sales_pipeline import selectors as ledger
from segmentation.selectors import classes_as_of

from . import kpis
from .models import KpiCell, KpiCustomerRow, KpiFact, KpiPeriod, Plan


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
    """Every customer: assigned manager, creation date in the business time zone, name."""
    rows = Customer.objects.values_list("pk", "manager_id", "created_at", "name")
    frame = _frame(rows, ["customer_id", "manager_id", "created", "name"])
    if not frame.empty:
        moments = pd.to_datetime(frame["created"], utc=True).dt.tz_convert(settings.TIME_ZONE)
        frame["created"] = moments.dt.tz_localize(None).dt.normalize()
    return frame


def snapshot_frame(as_of: date) -> pd.DataFrame:
    rows = classes_as_of(as_of).values_list("customer_id", "status", "abc", "xyz")
    return _frame(rows, ["customer_id", "status", "abc", "xyz"])


def products_in_use() -> dict[int, int]:
    """Each customer's number of products in use now (customers without any are absent)."""
    return dict(
        CustomerProduct.objects.filter(status=CustomerProduct.Status.IN_USE)
        .values_list("customer_id")
        .annotate(n=Count("pk"))
        .order_by()
    )


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


def table_figures(*, user, period: KpiPeriod) -> tuple[dict, dict, dict]:
    """(per manager, per team, total) of what `user` sees, in two queries: the visible
    cells with their manager's team, and the visible shared facts (a customer counted for
    several managers), which say how many customers the summed cells count twice in a
    team (today's teams) and in the total. Shapes as manager_rows, team_rows, total_row."""
    cells = KpiCell.objects.visible_to(user).filter(period=period)
    rows = cells.values_list("manager_id", "manager__team_membership__team_id",
                             "manager__team_membership__team__name", "kpi", "customers", "amount")  # fmt: skip
    per_manager: dict = {}
    teams: dict = {}
    total: dict = {}
    team_of: dict = {}
    for manager_id, team_id, team, kpi, customers, amount in rows:
        per_manager.setdefault(manager_id, {})[kpi] = (customers, int(amount))
        groups = [total] if team_id is None else [total, teams.setdefault((team_id, team), {})]
        if team_id is not None:
            team_of[manager_id] = (team_id, team)
        for group in groups:
            before = group.get(kpi, (0, 0))
            group[kpi] = (before[0] + customers, before[1] + int(amount))
    shared = KpiFact.objects.visible_to(user).filter(period=period, shared=True)
    seen: dict = {}
    for manager_id, kpi, customer_id in shared.values_list("manager_id", "kpi", "customer_id"):
        seen.setdefault((None, kpi, customer_id), 0)
        seen[(None, kpi, customer_id)] += 1
        if manager_id in team_of:
            key = (team_of[manager_id], kpi, customer_id)
            seen[key] = seen.get(key, 0) + 1
    for (team, kpi, _customer), times in seen.items():
        group = total if team is None else teams[team]
        customers, amount = group[kpi]
        group[kpi] = (customers - (times - 1), amount)
    return per_manager, teams, total


def manager_rows(*, user, period: KpiPeriod) -> dict:
    """{manager_id or None: {kpi: (customers, amount units)}} of the cells `user` sees."""
    cells = KpiCell.objects.visible_to(user).filter(period=period)
    rows = cells.values_list("manager_id", "kpi", "customers", "amount")
    out: dict = {}
    for manager_id, kpi, customers, amount in rows:
        out.setdefault(manager_id, {})[kpi] = (customers, int(amount))
    return out


def team_rows(*, user, period: KpiPeriod) -> dict:
    """{(team id, team name): {kpi: (distinct customers, amount)}} over each team's
    managers (today's teams): the cells summed, less the customers the shared facts count
    for two of the team's managers."""
    columns = ("manager__team_membership__team_id", "manager__team_membership__team__name", "kpi")
    summed = (
        KpiCell.objects.visible_to(user)
        .filter(period=period, manager__team_membership__isnull=False)
        .values_list(*columns)
        .annotate(customers=Sum("customers"), amount=Sum("amount"))
        .order_by()
    )
    twice = _counted_twice(
        KpiFact.objects.visible_to(user).filter(period=period, manager__team_membership__isnull=False), columns
    )
    out: dict = {}
    for team_id, team, kpi, customers, amount in summed:
        out.setdefault((team_id, team), {})[kpi] = (customers - twice.get((team_id, team, kpi), 0), int(amount))
    return out


def total_row(*, user, period: KpiPeriod) -> dict:
    """{kpi: (distinct customers, amount)} over everything `user` sees: one customer
    counted once however many managers it counts for."""
    summed = (
        KpiCell.objects.visible_to(user)
        .filter(period=period)
        .values_list("kpi")
        .annotate(customers=Sum("customers"), amount=Sum("amount"))
        .order_by()
    )
    twice = _counted_twice(KpiFact.objects.visible_to(user).filter(period=period), ("kpi",))
    return {kpi: (customers - twice.get((kpi,), 0), int(amount)) for kpi, customers, amount in summed}


def _counted_twice(facts, columns: tuple[str, ...]) -> dict[tuple, int]:
    """Per `columns` (ending with kpi): how many more times the summed cells count a
    customer than once, from the few shared facts (a customer's lines recorded by several
    managers): rows minus distinct customers."""
    rows = (
        facts.filter(shared=True)
        .values_list(*columns)
        .annotate(rows=Count("pk"), customers=Count("customer_id", distinct=True))
        .order_by()
    )
    return {tuple(key): n - distinct for *key, n, distinct in rows if n != distinct}


def totals_by_director(*, period: KpiPeriod, directors) -> dict[int, dict]:
    """total_row for each of `directors` in three queries whatever their number (the
    Monday e-mail): the period's cells, its shared facts, and who directs whom; a
    director sees their teams' managers, the pool and themselves (figures_scope)."""
    from django.contrib.auth import get_user_model

    from customers.models import TeamMembership

    cells = list(KpiCell.objects.filter(period=period).values_list("manager_id", "kpi", "customers", "amount"))
    shared = list(KpiFact.objects.filter(period=period, shared=True).values_list("manager_id", "kpi", "customer_id"))
    directed: dict[int, set] = {director.pk: {None, director.pk} for director in directors}
    pairs = TeamMembership.objects.filter(team__directors__in=list(directed)).values_list("team__directors", "user_id")
    for director_id, manager_id in pairs:
        directed[director_id].add(manager_id)
    # Those who see everything (customers.access.sees_everything), in one query for all.
    perm = {"codename": "view_all_customers", "content_type__app_label": "customers"}
    see_all = (
        Q(is_superuser=True)
        | Q(**{f"user_permissions__{key}": value for key, value in perm.items()})
        | Q(**{f"groups__permissions__{key}": value for key, value in perm.items()})
    )
    everything = set(get_user_model().objects.filter(see_all, pk__in=list(directed)).values_list("pk", flat=True))
    out = {}
    for director_id, managers in directed.items():
        total: dict = {}
        for manager_id, kpi, customers, amount in cells:
            if director_id in everything or manager_id in managers:
                before = total.get(kpi, (0, 0))
                total[kpi] = (before[0] + customers, before[1] + int(amount))
        seen: dict = {}
        for manager_id, kpi, customer_id in shared:
            if director_id in everything or manager_id in managers:
                seen[(kpi, customer_id)] = seen.get((kpi, customer_id), 0) + 1
        for (kpi, _customer), times in seen.items():
            customers, amount = total[kpi]
            total[kpi] = (customers - (times - 1), amount)
        out[director_id] = total
    return out


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
    """The by-customer rows `user` sees, with the customer's products in use and maturity
    as they are now (subqueries the database runs for the rows of the page only, unless
    the page sorts by them)."""
    from customers.portrait import with_maturity

    in_use = (
        CustomerProduct.objects.filter(customer_id=OuterRef("customer_id"), status=CustomerProduct.Status.IN_USE)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = KpiCustomerRow.objects.visible_to(user).filter(period=period).select_related("customer", "manager")
    rows = rows.annotate(products_in_use=Coalesce(Subquery(in_use, output_field=IntegerField()), Value(0)))
    return with_maturity(rows, prefix="customer__")


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
