"""The dashboard's blocks besides the KPI table, from the period's stored DashboardCell
rows (reporting.dashboard_facts, written by the fill): two queries for all of them, summing
the rows of the managers the user sees (customers.access.figures_scope). Each block gives
its table and its chart (crm_project.charts), so that every chart stands beside its numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm_project import charts, hooks
from sales_pipeline.funnel import NO_REASON, Funnel, RefusalRow, StageRow
from sales_pipeline.models import Stage
from segmentation.classification import STATUSES
from segmentation.models import STATUS_LABELS

from . import dashboard_facts as facts
from . import kpis
from .models import DashboardCell, KpiPeriod


def stored(request, period: KpiPeriod) -> dict:
    """Every block's context for the dashboard of `period`, in two queries."""
    cells = DashboardCell.objects.visible_to(request.user).filter(period=period)
    summed: dict[str, dict] = {}
    rows = cells.exclude(block=facts.ACTIVITY).values_list("block", "key")
    for block, key, n, amount, days in rows.annotate(n=Sum("n"), amount=Sum("amount"), days=Sum("days")).order_by():
        summed.setdefault(block, {})[key] = (int(n), int(amount), float(days))
    activity_rows = cells.filter(block=facts.ACTIVITY).values_list("manager_id", "manager__username", "key", "n")
    return {
        "widgets": widgets(request, period, summed),
        **funnel(summed, period.start, period.end),
        **matrix(summed.get(facts.MATRIX, {})),
        **lifecycle(summed.get(facts.LIFECYCLE, {}), period.end),
        **dynamics(summed.get(facts.DYNAMICS, {})),
        **products(summed.get(facts.PRODUCTS, {})),
        **activity(list(activity_rows)),
    }


def widgets(request, period: KpiPeriod, summed: dict) -> list:
    """The blocks other apps register (hooks.DASHBOARD_WIDGETS), each given the sums of its
    app's stored rows (hooks.DASHBOARD_FACTS) when it has any."""
    with_facts = {facts.hook_block(fn) for fn in hooks.get_hooks(hooks.DASHBOARD_FACTS)}
    out = []
    for fn in hooks.get_hooks(hooks.DASHBOARD_WIDGETS):
        block = facts.hook_block(fn)
        stored = None
        if block in with_facts:
            stored = {key: (n, amount) for key, (n, amount, _days) in summed.get(block, {}).items()}
        widget = fn(request, period.start, period.end, stored=stored)
        if widget:
            out.append(widget)
    return out


def _money(units: int):
    return kpis.from_units(units).quantize(Decimal("0.01"))


def funnel(summed: dict, start: date, end: date) -> dict:
    stages, left = summed.get(facts.FUNNEL, {}), summed.get(facts.LEFT, {})
    refusals = []
    for key, (n, amount, _days) in summed.get(facts.REFUSAL, {}).items():
        stage, reason = key.split(":", 1)
        if reason == NO_REASON:  # stored in English by the fill: shown in the reader's language
            reason = _(NO_REASON)
        refusals.append(RefusalRow(stage=int(stage), stage_label=Stage(int(stage)).label, reason=reason, count=n,
                                   amount=_money(amount)))  # fmt: skip
    refusals.sort(key=lambda r: (r.stage, -r.count, r.reason))
    rows = []
    for stage in Stage:
        reached, amount, converted = stages.get(str(stage.value), (0, 0, 0.0))
        n_left, _amount, days = left.get(str(stage.value), (0, 0, 0.0))
        rows.append(
            StageRow(stage=stage.value, label=stage.label, reached=reached, amount=_money(amount),
                     converted=int(converted), avg_days=round(days / n_left, 1) if n_left else None, left=n_left,
                     lost=sum(r.count for r in refusals if r.stage == stage.value))  # fmt: skip
        )
    widest = max([row.reached for row in rows] + [1])
    for row in rows:
        row.bar = round(100 * row.reached / widest)
    most = max([row.count for row in refusals] + [1])
    for refusal in refusals:
        refusal.bar = round(100 * refusal.count / most)
    won, won_amount, _days = summed.get(facts.WON, {}).get("", (0, 0, 0.0))
    report = Funnel(start=start, end=end, stages=rows, won=won, won_amount=_money(won_amount), refusals=refusals)
    return {
        "funnel": report,
        "funnel_chart": charts.bar_chart(
            [row.label for row in report.stages],
            [(_("Deals"), [row.reached for row in report.stages])],
            label=_("Deals reaching each stage"),
        ),
        "refusals_chart": charts.bar_chart(
            [row.reason for row in report.refusals],
            [(_("Lost deals"), [row.count for row in report.refusals])],
            label=_("Refusals by reason"),
        ),
    }


def matrix(cells: dict) -> dict:
    def cell(abc, xyz):
        n, amount, _days = cells.get(abc + xyz, (0, 0, 0.0))
        return {"xyz": xyz, "customers": n, "value": kpis.from_units(amount) if n else None}

    rows = [{"abc": abc, "cells": [cell(abc, xyz) for xyz in ["X", "Y", "Z", ""]]} for abc in "ABC"]
    return {
        "matrix": rows,
        "matrix_chart": charts.bar_chart(
            ["A", "B", "C"],
            [(xyz or _("no XYZ"), [cell(abc, xyz)["customers"] for abc in "ABC"]) for xyz in ["X", "Y", "Z", ""]],
            stacked=True,
            label=_("Customers per ABC and XYZ class"),
        ),
    }


def lifecycle(cells: dict, end: date) -> dict:
    ends = facts.lifecycle_dates(end)
    counts = {key: n for key, (n, _amount, _days) in cells.items()}

    def count(day, status):
        return counts.get(f"{day.isoformat()}:{status}", 0)

    rows = [{"as_of": day, "counts": [count(day, s) for s in STATUSES],
             "computed": any(f"{day.isoformat()}:{s}" in counts for s in STATUSES)} for day in ends]  # fmt: skip
    return {
        "statuses": STATUSES,
        "status_labels": [STATUS_LABELS[status] for status in STATUSES],
        "lifecycle": rows,
        "lifecycle_chart": charts.bar_chart(
            [date_format(day, "M y") for day in ends],
            [(str(STATUS_LABELS[status]), [count(day, status) for day in ends]) for status in STATUSES],
            stacked=True,
            label=_("Customers per lifecycle status at each period end"),
        ),
    }


def dynamics(cells: dict) -> dict:
    months = [(date.fromisoformat(f"{key}-01"), kpis.from_units(amount)) for key, (_n, amount, _d) in cells.items()]
    months.sort()
    return {
        "dynamics": months,
        "dynamics_chart": charts.line_chart(
            [date_format(month, "M y") for month, _total in months],
            [(_("Net revenue"), [total for _m, total in months])],
            label=_("Net revenue per month"),
        ),
    }


def products(cells: dict) -> dict:
    rows = sorted((int(key), n) for key, (n, _amount, _days) in cells.items())
    return {
        "products": rows,
        "products_chart": charts.bar_chart(
            [str(n) for n, _c in rows],
            [(_("Customers"), [c for _n, c in rows])],
            label=_("Customers by the number of products in use"),
        ),
    }


def activity(cells: list[tuple]) -> dict:
    per_manager: dict = {}
    for manager_id, username, key, n in cells:
        row = per_manager.setdefault(manager_id, {"manager": username or manager_id, "contacts": 0, "tasks": 0,
                                                  "tasks_done": 0})  # fmt: skip
        row[key] = n
    rows = sorted(per_manager.values(), key=lambda row: str(row["manager"]))
    return {
        "activity": rows,
        "activity_chart": charts.bar_chart(
            [str(row["manager"]) for row in rows],
            [(_("Contacts logged"), [r["contacts"] for r in rows]), (_("Tasks due"), [r["tasks"] for r in rows])],
            label=_("Contacts and tasks per manager"),
        ),
    }

