"""The pipeline's reports: control points and the funnel."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from crm_project import hooks
from crm_project.dates import business_today, months_before
from crm_project.exports import CONTENT_TYPES, export_response

from .. import control_points as points
from ..deal_forms import BoardFilterForm, FunnelForm
from ..funnel import funnel_export_rows, funnel_report
from .common import VIEW


@login_required
@permission_required(VIEW, raise_exception=True)
def control_points(request):
    """GET [?manager=<id>]: every overdue control date of the deals the user sees, per manager."""
    form = BoardFilterForm(request.GET or None, user=request.user)
    manager = form.cleaned_data["manager"] if form.is_valid() else None
    today = business_today()
    found = points.control_points(user=request.user, today=today, manager=manager)
    # Control points the apps below contribute (e.g. segmentation's contact interval per ABC class).
    more = [
        row
        for hook in hooks.get_hooks(hooks.CONTROL_POINTS)
        for row in hook(user=request.user, today=today, manager=manager)
    ]
    more_counts: dict[str, int] = {}
    for row in more:
        more_counts[row.kind] = more_counts.get(row.kind, 0) + 1
    context = {
        "form": form,
        "today": today,
        "groups": points.by_manager(found),
        "counts": points.counts_by_kind(found),
        "total": len(found),
        "limit": points.LIMIT,
        "hook_rows": more,
        "hook_counts": sorted(more_counts.items()),
    }
    return render(request, "sales_pipeline/control_points.html", context)


def _default_period(today):
    return {"start": months_before(today, 3), "end": today}


@login_required
@permission_required(VIEW, raise_exception=True)
def funnel(request):
    """GET start, end [, manager, team, product_line, sale_type] [, _export=csv|xlsx]:
    the funnel report (sales_pipeline.funnel) as a table and a chart."""
    today = business_today()
    params = request.GET.copy()
    for name, value in _default_period(today).items():
        params.setdefault(name, value.isoformat())
    form = FunnelForm(params, user=request.user)
    report = None
    if form.is_valid():
        data = form.cleaned_data
        report = funnel_report(
            user=request.user,
            start=data["start"],
            end=data["end"],
            manager=data["manager"],
            team=data["team"],
            product_line=data["product_line"],
            sale_type=data["sale_type"],
        )
        fmt = request.GET.get("_export")
        if fmt in CONTENT_TYPES:
            header, rows = funnel_export_rows(report)
            return export_response(fmt, f"funnel-{report.start}-{report.end}", header, rows)
    return render(
        request, "sales_pipeline/funnel.html", {"form": form, "report": report, "export_formats": list(CONTENT_TYPES)}
    )
