"""Reporting pages: the director's dashboard, the KPI tables by manager and by customer,
the drill-down behind every number, plans and process health (domain.md section 8).

The tables count pre-aggregated rows (reporting.models); a period nobody has opened
before is filled once on its first view (kpi_period_fill) and read from then on; the
nightly job fills the presets ahead. Every figure is scoped: managers see their own,
directors their teams', administrators everything (customers.access.figures_scope).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_project import charts
from crm_project.dates import business_today
from crm_project.exports import CONTENT_TYPES, export_response
from crm_project.views import ScopedListView
from customers.access import MANAGER, figures_managers, figures_scope, user_role
from customers.models import Customer

from . import dashboard_blocks as blocks
from . import health, kpi_table, kpis, periods, selectors, services
from .filters import KpiCustomerFilterSet
from .forms import MonthForm, PeriodForm, PlanForm
from .kpi_table_rows import kpi_table_rows
from .models import KpiPeriod, Plan
from .tables import KpiCustomerTable

VIEW_PERMISSION = "reporting.view_kpiperiod"


def _period_form(request, default: str) -> PeriodForm:
    form = PeriodForm(request.GET or None, default=default)
    if not request.GET:
        form = PeriodForm({"preset": default}, default=default)
    return form


def _stored(start: date, end: date) -> KpiPeriod:
    """The period's pre-aggregated rows; filled now if nobody asked for it before."""
    return selectors.period_of(start, end) or services.kpi_period_fill(start=start, end=end)


def _period_query(period: KpiPeriod) -> str:
    return urlencode({"start": period.start.isoformat(), "end": period.end.isoformat()})


def _table_context(request, period: KpiPeriod) -> dict:
    rows = kpi_table.manager_table(user=request.user, period=period, with_teams=user_role(request.user) != MANAGER)
    period_query = _period_query(period)
    return {
        "period": period,
        "period_query": period_query,
        "rows": rows,
        "kpi_rows": kpi_table_rows(rows, period_query),
        "columns": kpi_table.COLUMNS,
        "header_groups": kpi_table.HEADER_GROUPS,
        "export_formats": list(CONTENT_TYPES),
    }


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def dashboard(request):
    """The director's home page: KPIs against the previous period, the table by manager,
    funnel and refusals, ABC x XYZ, lifecycle, sales dynamics, products per customer,
    tasks and contacts per manager, then the blocks other apps add (DASHBOARD_WIDGETS)."""
    form = _period_form(request, "this_month")
    if not form.is_valid():
        return render(request, "reporting/dashboard.html", {"form": form})
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    period = _stored(start, end)
    previous = _stored(*periods.previous(start, end))
    context = _table_context(request, period)
    total = context["rows"][-1]
    before = kpi_table.total_row(user=request.user, period=previous)
    comparison = kpi_table.deltas(total, before)
    counts = [c for c in comparison if c["what"] == "count"]
    context.update(
        form=form,
        previous=previous,
        comparison=comparison,
        comparison_chart=charts.bar_chart(
            [str(c["label"]) for c in counts],
            [
                (_("Previous"), [c["before_value"] or 0 for c in counts]),
                (_("This period"), [c["now_value"] or 0 for c in counts]),
            ],  # fmt: skip
            label=_("KPIs against the previous period"),
        ),
        **blocks.stored(request, period),
    )
    return render(request, "reporting/dashboard.html", context)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def kpi_managers(request):
    """The KPI table by manager, with team subtotals, the total, plans against actuals."""
    form = _period_form(request, "last_month")
    if not form.is_valid():
        return render(request, "reporting/kpi_managers.html", {"form": form})
    period = _stored(form.cleaned_data["start"], form.cleaned_data["end"])
    context = _table_context(request, period)
    rows = context["rows"]
    fmt = request.GET.get("_export")
    if fmt in CONTENT_TYPES:
        header, body = kpi_table.export_rows(rows)
        return export_response(fmt, f"kpis-{period.start}-{period.end}", header, body)
    managers = [row for row in rows if row.kind == "manager"]
    context.update(
        form=form,
        plans=kpi_table.with_plans(rows, user=request.user, period=period),
        chart=charts.bar_chart(
            [row.label for row in managers],
            [
                (_("Primary"), [row.values["primary_amount"] for row in managers]),
                (_("Repeat"), [row.values["repeat_amount"] for row in managers]),
                (_("New direction"), [row.values["new_direction_amount"] for row in managers]),
            ],  # fmt: skip
            stacked=True,
            label=_("Sales per manager by category"),
        ),
    )
    return render(request, "reporting/kpi_managers.html", context)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
@require_POST
def refresh(request):
    """Recompute a period's rows now (directors and administrators)."""
    if user_role(request.user) == MANAGER:
        raise Http404
    form = PeriodForm(request.POST)
    if form.is_valid():
        services.kpi_period_fill(start=form.cleaned_data["start"], end=form.cleaned_data["end"])
        messages.success(request, _("The figures were recomputed."))
        query = urlencode({"start": form.cleaned_data["start"], "end": form.cleaned_data["end"]})
        return redirect(reverse("reporting:kpi_managers") + "?" + query)
    messages.error(request, _("Choose a valid period."))
    return redirect("reporting:kpi_managers")


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def kpi_drill(request):
    """The customers behind one number of the table (?start, end, kpi, row)."""
    form = PeriodForm(request.GET)
    kpi, row = request.GET.get("kpi", ""), request.GET.get("row", "all")
    if not form.is_valid() or kpi not in kpis.KPIS:
        raise Http404
    if row not in ("all", "none") and not row.startswith("team-"):
        # Another manager's figures are not there for you: the same 404 as a missing one.
        people = get_user_model().objects.filter(figures_scope(request.user, "pk"))
        if not row.isdigit() or not people.filter(pk=int(row)).exists():
            raise Http404
    elif row.startswith("team-") and not row[5:].isdigit():
        raise Http404
    period = _stored(form.cleaned_data["start"], form.cleaned_data["end"])
    facts = selectors.drill_down(user=request.user, period=period, kpi=kpi, row=row)
    amounts = kpi in kpis.CATEGORIES
    fmt = request.GET.get("_export")
    page = None
    if fmt in CONTENT_TYPES:
        facts = list(facts[: settings.EXPORT_MAX_ROWS])
    else:
        page = Paginator(facts, settings.LIST_PAGE_SIZE).get_page(request.GET.get("page"))
        facts = list(page.object_list)
    for fact in facts:
        fact["amount"] = kpis.from_units(fact["amount"])
    if fmt in CONTENT_TYPES:
        header = [_("Customer"), _("Reference"), _("Manager")] + ([_("Sum")] if amounts else [])
        body = [[f["customer__name"], f["customer__external_ref"], f["customer__manager__username"]]
                + ([f["amount"]] if amounts else []) for f in facts]  # fmt: skip
        return export_response(fmt, f"kpi-{kpi}-{period.start}-{period.end}", header, body)
    label = _row_label(request, row)
    return render(
        request,
        "reporting/kpi_drill.html",
        {
            "period": period,
            "kpi": kpi,
            "kpi_label": periods.KPI_LABELS[kpi],
            "row_label": label,
            "facts": facts,
            "page": page,
            "amounts": amounts,
            "export_formats": list(CONTENT_TYPES),
            "period_query": _period_query(period),
        },  # fmt: skip
    )


def _row_label(request, row: str) -> str:
    if row == "all":
        return _("Total")
    if row == "none":
        return _("Unassigned")
    if row.startswith("team-"):
        from customers.models import SalesTeam

        team = SalesTeam.objects.filter(pk=int(row[5:])).first()
        return _("Team %(name)s") % {"name": team.name if team else row}
    user = get_user_model().objects.filter(pk=int(row)).first()
    return (user.get_full_name() or user.get_username()) if user else row


class KpiCustomerListView(ScopedListView):
    """The KPI table by customer: status and classes at S and E, sums per sale category,
    products in use, maturity and a sparkline of the year to E."""

    model = Customer  # for the heading; rows are KpiCustomerRow
    permission_required = VIEW_PERMISSION
    filterset_class = KpiCustomerFilterSet
    table_class = KpiCustomerTable
    template_name = "reporting/kpi_customers.html"
    export_name = "kpis-by-customer"

    def get(self, request, *args, **kwargs):
        self.period_form = _period_form(request, "last_month")
        if not self.period_form.is_valid():
            raise Http404
        data = self.period_form.cleaned_data
        self.period = _stored(data["start"], data["end"])
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return selectors.customer_rows(user=self.request.user, period=self.period)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "form": self.period_form, "period": self.period,
                "period_query": _period_query(self.period)}  # fmt: skip


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def plans(request):
    """Targets per manager for one month; directors and administrators edit them."""
    month_form = MonthForm(request.GET or {"month": business_today().strftime("%Y-%m")})
    month = month_form.cleaned_data["month"] if month_form.is_valid() else business_today()
    month = month.replace(day=1)
    can_edit = request.user.has_perm("reporting.change_plan") and request.user.has_perm("reporting.add_plan")
    managers = list(figures_managers(request.user).order_by("username"))
    existing = {p.manager_id: p for p in Plan.objects.filter(figures_scope(request.user), month=month)}
    forms = []
    for manager in managers:
        plan = existing.get(manager.pk) or Plan(manager=manager, month=month)
        data = request.POST if request.method == "POST" and can_edit else None
        forms.append((manager, PlanForm(data, instance=plan, prefix=f"m{manager.pk}")))
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if all(form.is_valid() for _m, form in forms):
            for _manager, form in forms:
                if form.has_changed() or form.instance.pk:
                    plan = form.save(commit=False)
                    plan.updated_by = request.user
                    plan.save()
            messages.success(request, _("Plans for %(month)s saved.") % {"month": date_format(month, "F Y")})
            return redirect(reverse("reporting:plans") + "?" + urlencode({"month": f"{month:%Y-%m}"}))
    return render(request, "reporting/plans.html",
                  {"month_form": month_form, "month": month, "forms": forms, "can_edit": can_edit})  # fmt: skip


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def process_health(request):
    """The method's self-diagnosis: each measured share graded +, +/-, -."""
    checks = health.graded_checks(request)
    fmt = request.GET.get("_export")
    if fmt in CONTENT_TYPES:
        header = [_("Check"), _("Good"), _("Total"), _("Share"), _("Grade")]
        body = [[c.label, c.good, c.total, c.share, c.grade] for c in checks]
        return export_response(fmt, "process-health", header, body)
    chart = charts.bar_chart(
        [str(c.label) for c in checks],
        [(_("Share, %"), [c.percent or 0 for c in checks])],
        label=_("Measured shares"),
    )
    return render(request, "reporting/health.html",
                  {"checks": checks, "chart": chart, "export_formats": list(CONTENT_TYPES)})  # fmt: skip


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def health_records(request):
    """The records that pull one share down (?key=), as the user may see them."""
    listing = health.records(request.user, request.GET.get("key", ""))
    if listing is None:
        raise Http404
    return render(request, "reporting/health_records.html", listing)
