from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_project.dates import business_today
from crm_project.exports import CONTENT_TYPES, export_response
from crm_project.queue import TRY_AGAIN, QueueUnavailable, enqueue
from crm_project.views import ScopedListView
from customers.models import Customer

from . import selectors, services
from .classification import STATUSES, months_before, nudge_ages
from .exports import HEADER, segment_rows
from .filters import ClassChangeFilterSet
from .models import STATUS_LABELS, ClassificationSettings, CustomerSnapshot, RecomputeRun
from .tables import ClassChangeTable
from .tasks import recompute_segments_task

LIFECYCLE_PERIODS = 8  # two years of three-month periods


def _as_of(request) -> date | None:
    """The snapshot date asked for (?as_of=), or the current one."""
    raw = request.GET.get("as_of")
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError as error:
            raise Http404("Not a date") from error
    return CustomerSnapshot.objects.latest_date()


def _segment_counts(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """[(code, label, customers)] of the activity segments present, in their order."""
    return [(code, label, counts[code]) for code, label in CustomerSnapshot.Segment.choices if counts.get(code)]


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def overview(request):
    """The ABC x XYZ matrix, lifecycle counts and the RFM activity matrix of one date."""
    as_of = _as_of(request)
    snapshots = selectors.classes_as_of(as_of).visible_to(request.user)
    if as_of is not None and selectors.has_figures(snapshots):
        cells, counts, rfm, segments = selectors.overview_counts_of_snapshot(user=request.user, as_of=as_of)
    else:  # a date held in the intervals only (or none yet)
        cells, counts, rfm, segments = selectors.overview_counts(snapshots)
    matrix = [
        {
            "abc": abc,
            "cells": [
                {"xyz": xyz, **cells.get((abc, xyz), {"customers": 0, "value": None})} for xyz in ["X", "Y", "Z", ""]
            ],
        }
        for abc in "ABC"
    ]
    last_run = RecomputeRun.objects.first()
    context = {
        "as_of": as_of,
        "dates": selectors.snapshot_dates()[:60],
        "matrix": matrix,
        "status_counts": [(status, counts.get(status, 0)) for status in STATUSES],
        "status_rows": [(status, STATUS_LABELS[status], counts.get(status, 0)) for status in STATUSES],
        "rfm_rows": [{"r": r, "cells": [rfm.get((r, f), 0) for f in range(1, 6)]} for r in range(5, 0, -1)],
        "segment_counts": _segment_counts(segments),
        # A date older than the snapshot window (not a month end) keeps its classes only.
        "figures": as_of is None or selectors.has_figures(snapshots),
        "window_days": services.SNAPSHOT_WINDOW_DAYS,
        "last_run": last_run,
        "run": last_run if last_run and last_run.as_of == as_of else RecomputeRun.objects.filter(as_of=as_of).first(),
        "settings": ClassificationSettings.read(),
    }
    return render(request, "segmentation/overview.html", context)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def lifecycle(request):
    """Customers per lifecycle status at the end of each of the last eight periods."""
    latest = CustomerSnapshot.objects.latest_date()
    period = ClassificationSettings.read().period_months
    ends = [months_before(latest, j * period) for j in range(LIFECYCLE_PERIODS)] if latest else []
    counts = selectors.lifecycle_counts(user=request.user, dates=ends)
    rows = [
        {
            "as_of": end,
            "counts": [counts.get((end, s), 0) for s in STATUSES],
            "computed": any((end, s) in counts for s in STATUSES),
        }
        for end in reversed(ends)
    ]
    peak = max([sum(row["counts"]) for row in rows] or [0]) or 1
    for row in rows:
        row["bars"] = [
            (status, STATUS_LABELS[status], n, round(100 * n / peak, 1))
            for status, n in zip(STATUSES, row["counts"], strict=True)
        ]
    return render(
        request,
        "segmentation/lifecycle.html",
        {
            "rows": rows,
            "statuses": STATUSES,
            "status_labels": [(status, STATUS_LABELS[status]) for status in STATUSES],
            "missing": [row["as_of"] for row in rows if not row["computed"]],
        },
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def nudge(request):
    """One-purchase customers due for a second-purchase reminder."""
    as_of = _as_of(request) or business_today()
    median = selectors.median_second_purchase_gap(as_of=as_of)
    rows = []
    if median is not None:
        youngest, oldest = nudge_ages(median, as_of=as_of, period_months=ClassificationSettings.read().period_months)
        customers = selectors.one_time_buyers(
            Customer.objects.visible_to(request.user), as_of=as_of, ages=(youngest, oldest)
        )
        rows = [(customer, (as_of - customer.first_purchase).days) for customer in customers]
    return render(request, "segmentation/nudge.html", {"as_of": as_of, "median": median, "rows": rows})


CLASS_CHANGE_FIELDS = ("customer__name", "customer__manager__username", "status", "abc", "xyz")


class ClassChangeListView(ScopedListView):
    """Customers whose class or status at one date differs from another date's."""

    model = CustomerSnapshot
    permission_required = "customers.view_customer"
    filterset_class = ClassChangeFilterSet
    table_class = ClassChangeTable
    template_name = "segmentation/changes.html"
    export_name = "class-changes"

    def get_queryset(self):
        # the dates and where each is held, read once: the two dates' stores and whether both
        # were computed come from them, not from three more queries
        calendar = selectors.snapshot_calendar()
        dates = calendar.dates
        after = self._date("after", dates[0] if dates else None)
        before = self._date("before", dates[1] if len(dates) > 1 else after)
        self.dates, self.before, self.after = dates, before, after
        field = self.request.GET.get("field") if self.request.GET.get("field") in {"abc", "xyz", "status"} else "abc"
        self.field = field
        rows = selectors.class_changes(
            user=self.request.user, before=before, after=after, field=field, calendar=calendar
        )
        # the table's columns only: the snapshot's and its customer's other columns (and the
        # manager's password) were most of what the page compiled and loaded for 25 rows
        return rows.only(*CLASS_CHANGE_FIELDS, *(("value",) if selectors.has_figures(rows) else ()))

    def _date(self, name, default):
        try:
            return date.fromisoformat(self.request.GET[name])
        except (KeyError, ValueError):
            return default

    def get_table_kwargs(self):
        return {"changed_field": self.field}

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "dates": self.dates,
            "before": self.before,
            "after": self.after,
            "field": self.field,
        }


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def segment_export(request):
    """Every visible customer's classes as of a date, as CSV or XLSX."""
    as_of = _as_of(request)
    fmt = request.GET.get("format", "csv")
    if fmt not in CONTENT_TYPES or as_of is None:
        raise Http404("Nothing to export")
    rows = segment_rows(selectors.classes_as_of(as_of).visible_to(request.user))
    return export_response(fmt, f"segments-{as_of}", HEADER, rows)


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def run_list(request):
    runs = RecomputeRun.objects.all()[:50]
    return render(request, "segmentation/runs.html", {"runs": runs, "today": business_today()})


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def run_progress(request, pk):
    run = get_object_or_404(RecomputeRun, pk=pk)
    return render(request, "segmentation/_run_progress.html", {"run": run})


@login_required
@require_POST
@permission_required("segmentation.add_recomputerun", raise_exception=True)
def run_start(request):
    """Queue a recompute for one date (default today), or for several (?as_of=...&as_of=...)."""
    days = []
    for raw in request.POST.getlist("as_of") or [business_today().isoformat()]:
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            messages.error(request, _("“%(raw)s” is not a date (YYYY-MM-DD).") % {"raw": raw})
            return redirect("segmentation:run_list")
        try:
            services.future_date_refuse(days[-1])
        except services.FutureDate as error:
            messages.error(request, str(error))
            return redirect("segmentation:run_list")
    queued = []
    try:
        for day in days:
            enqueue(recompute_segments_task, day.isoformat(), triggered_by=f"user:{request.user.username}")
            queued.append(day)
    except QueueUnavailable:
        messages.error(request, TRY_AGAIN)
    if queued:
        messages.success(request, _("Recompute queued for %(days)s.") % {"days": ", ".join(map(str, queued))})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("segmentation:run_list")
    return redirect(target)
