"""The dashboard's blocks besides the KPI table: each reads a constant number of rows in
the user's scope and returns its table and its chart (crm_project.charts), so that
every chart stands beside its numbers."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm_project import charts
from crm_project.dates import months_before
from customers.models import Customer, CustomerProduct
from sales_pipeline.funnel import funnel_report
from segmentation import selectors as segments
from segmentation.classification import STATUSES
from segmentation.models import ClassificationSettings

from . import selectors

LIFECYCLE_PERIODS = 8


def funnel(request, start, end) -> dict:
    report = funnel_report(user=request.user, start=start, end=end)
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


def matrix(request, end) -> dict:
    snapshots = segments.classes_as_of(end).visible_to(request.user)
    cells = segments.abc_xyz_matrix(snapshots)
    rows = [
        {
            "abc": abc,
            "cells": [
                {"xyz": xyz, **cells.get((abc, xyz), {"customers": 0, "value": None})} for xyz in ["X", "Y", "Z", ""]
            ],
        }  # fmt: skip
        for abc in "ABC"
    ]
    return {
        "matrix": rows,
        "matrix_chart": charts.bar_chart(
            ["A", "B", "C"],
            [
                (xyz or _("no XYZ"), [cells.get((abc, xyz), {}).get("customers", 0) for abc in "ABC"])
                for xyz in ["X", "Y", "Z", ""]
            ],  # fmt: skip
            stacked=True,
            label=_("Customers per ABC and XYZ class"),
        ),
    }


def lifecycle(request, end) -> dict:
    period_months = ClassificationSettings.current().period_months
    ends = [months_before(end, j * period_months) for j in range(LIFECYCLE_PERIODS)][::-1]
    counts = segments.lifecycle_counts(user=request.user, dates=ends)
    rows = [{"as_of": day, "counts": [counts.get((day, s), 0) for s in STATUSES],
             "computed": any((day, s) in counts for s in STATUSES)} for day in ends]  # fmt: skip
    return {
        "statuses": STATUSES,
        "lifecycle": rows,
        "lifecycle_chart": charts.bar_chart(
            [f"{day:%b %y}" for day in ends],
            [(status, [counts.get((day, status), 0) for day in ends]) for status in STATUSES],
            stacked=True,
            label=_("Customers per lifecycle status at each period end"),
        ),
    }


def dynamics(request, end) -> dict:
    start = months_before(end, 12).replace(day=1)
    months = selectors.monthly_revenue(user=request.user, start=start, end=end)
    return {
        "dynamics": months,
        "dynamics_chart": charts.line_chart(
            [f"{month:%b %y}" for month, _total in months],
            [(_("Net revenue"), [total for _m, total in months])],
            label=_("Net revenue per month"),
        ),
    }


def products(request) -> dict:
    in_use = (
        CustomerProduct.objects.filter(customer_id=OuterRef("pk"), status=CustomerProduct.Status.IN_USE)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows = (
        Customer.objects.visible_to(request.user)
        .annotate(products=Coalesce(Subquery(in_use, output_field=IntegerField()), Value(0)))
        .values_list("products")
        .annotate(customers=Count("pk"))
        .order_by("products")
    )
    rows = list(rows)
    return {
        "products": rows,
        "products_chart": charts.bar_chart(
            [str(n) for n, _c in rows],
            [(_("Customers"), [c for _n, c in rows])],
            label=_("Customers by the number of products in use"),
        ),
    }


def activity(request, start, end) -> dict:
    per_manager = selectors.activity_per_manager(user=request.user, start=start, end=end)
    names = dict(get_user_model().objects.filter(pk__in=list(per_manager)).values_list("pk", "username"))
    rows = [{"manager": names.get(pk, pk), **values} for pk, values in sorted(per_manager.items(),
            key=lambda item: str(names.get(item[0], "")))]  # fmt: skip
    return {
        "activity": rows,
        "activity_chart": charts.bar_chart(
            [str(row["manager"]) for row in rows],
            [(_("Contacts logged"), [r["contacts"] for r in rows]), (_("Tasks due"), [r["tasks"] for r in rows])],
            label=_("Contacts and tasks per manager"),
        ),
    }
