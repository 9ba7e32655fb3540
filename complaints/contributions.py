"""What the complaints app shows on other apps' pages, through crm_project.hooks: the
card panel, agenda rows, the director's dashboard widget and process health checks.
Each costs a fixed number of queries."""

from datetime import date

from django.db.models import Avg, Case, Count, DateField, F, IntegerField, Q, Sum, Value, When, Window
from django.db.models.functions import Substr, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project import charts, hooks
from crm_project.dates import business_today, months_before
from crm_project.object_urls import object_url_for
from crm_project.prepared import Prepared, aggregate_row
from crm_project.probes import has_rows
from customers.access import customer_scope, own_customers_scope, scope_key

from .models import Answer, Complaint, Response, Step, Survey

CARD_LIMIT = 5
AGENDA_LIMIT = 50


def card_annotations(request) -> dict:
    """Whether the customer has open complaints and answered surveys, on the card's customer
    row (crm_project.hooks.CARD_ANNOTATIONS): most customers have neither, and then the
    panel costs no query."""
    if not request.user.has_perm("complaints.view_complaint"):
        return {}
    return {
        "card_open_complaints": has_rows(Complaint, "customer", where_not={"step": Step.CLOSED}),
        "card_survey_responses": has_rows(Response, "customer"),
    }


def card_panel(request, customer):
    """Open complaints of the customer (overdue flagged) and the last survey's average. 2 queries
    at most (none for what card_annotations found empty): the counts of all open complaints ride
    on the first rows as window sums (taken before the LIMIT)."""
    if not request.user.has_perm("complaints.view_complaint"):
        return None
    today = business_today()
    overdue = Case(When(step_deadline__lt=today, then=Value(1)), default=Value(0), output_field=IntegerField())
    complaints = []
    if getattr(customer, "card_open_complaints", True):
        complaints = list(
            Complaint.objects.filter(customer=customer)
            .exclude(step=Step.CLOSED)
            .annotate(open_total=Window(Count("pk")), overdue_total=Window(Sum(overdue)))
            .order_by("step_deadline", "pk")[:CARD_LIMIT]
        )
    counts = {"open": 0, "overdue": 0}
    if complaints:
        counts = {"open": complaints[0].open_total, "overdue": complaints[0].overdue_total}
    for complaint in complaints:
        complaint.is_overdue = complaint.step_deadline is not None and complaint.step_deadline < today
    last = None
    if getattr(customer, "card_survey_responses", True):
        last = (
            Response.objects.filter(customer=customer).order_by("-answered_at")
            .annotate(average=Avg("answers__score")).values("average", "answered_at").first()
        )
    return hooks.Panel(
        template="complaints/_card_panel.html",
        context={"complaints": complaints, "open_count": counts["open"], "overdue_count": counts["overdue"],
                 "last_response": last},
        column="main",
        order=60,
    )


ROW_FIELDS = ["tag", "pk", "customer_id", "customer_name", "day", "code", "step", "text"]


def _agenda_union(viewer, owner, today: date):
    """The rows of agenda_rows, complaints and survey calls, as one UNION ALL, limited."""
    visible = customer_scope(viewer, prefix="customer__")
    complaints = (
        Complaint.objects.filter(visible, owner=owner)
        .filter(Q(step=Step.REGISTERED) | (Q(step_deadline__lt=today) & ~Q(step=Step.CLOSED)))
        .annotate(tag=Value("complaint"), customer_name=F("customer__name"), day=F("step_deadline"),
                  code=F("kind"), text=Substr("description", 1, 80))
        .values(*ROW_FIELDS)
        .order_by()  # a part of a UNION has no order of its own (the models' Meta.ordering)
    )
    calls = (
        # the owner's own customers: no scope of their own on the owner's own agenda (customers.access)
        Survey.objects.filter(own_customers_scope(viewer, owner, prefix="customer__"), customer__manager=owner,
                              channel=Survey.Channel.CALL, answered_at__isnull=True)
        .annotate(tag=Value("survey"), customer_name=F("customer__name"), day=TruncDate("created_at"),
                  code=F("reason"), step=Value(""), text=F("product__name"))
        .values(*ROW_FIELDS)
        .order_by()
    )
    return complaints.union(calls, all=True).order_by("day", "pk")[:AGENDA_LIMIT]


# The viewer's own agenda, compiled once per user and day (crm_project.prepared): the
# scope is the viewer's (customers.access.scope_key), the current time zone the surveys' day.
_OWN_AGENDA_UNION = Prepared(lambda viewer, key, today, zone: _agenda_union(viewer, viewer, today))


def agenda_rows(*, viewer, owner, today: date) -> list:
    """The owner's complaints to act on (new ones to take up, overdue ones) and the
    surveys to make by call, as the viewer may see them: one query (a UNION ALL), since
    the agenda pins its query count."""
    if viewer.pk == owner.pk:
        union = _OWN_AGENDA_UNION.rows(viewer, scope_key(viewer), today, timezone.get_current_timezone())
    else:
        union = _agenda_union(viewer, owner, today)
    # the labels translated once a page, not once a row
    kinds, steps, reasons = (
        {code: str(label) for code, label in choices.choices} for choices in (Complaint.Kind, Step, Survey.Reason)
    )
    rows = []
    # translated and the addresses' shapes read once a page, not once a row (50 rows)
    survey_kind, ask_about = _("Survey to make"), _("Ask about %(product)s")
    overdue_kind, new_kind = _("Overdue complaint"), _("New complaint")
    survey_url, complaint_url = object_url_for("complaints:survey_fill"), object_url_for("complaints:complaint_detail")
    for row in union:
        tag, pk, customer_id, customer_name, day, code, step, text = (row[name] for name in ROW_FIELDS)
        if tag == "survey":
            rows.append(hooks.AgendaRow(
                kind=survey_kind, date=day, customer_id=customer_id, customer_name=customer_name,
                text=ask_about % {"product": text},
                url=survey_url(pk), slug="survey-call", detail=str(reasons[code]),
            ))
            continue
        overdue = step != Step.CLOSED and day is not None and day < today
        rows.append(hooks.AgendaRow(
            kind=overdue_kind if overdue else new_kind,
            date=day or today,
            customer_id=customer_id,
            customer_name=customer_name,
            text=f"#{pk} {kinds[code]}: {steps[step]}",
            url=complaint_url(pk),  # 50 rows: no reverse() each
            overdue=overdue,
            slug=f"complaint-{code} complaint-{'overdue' if overdue else 'new'}",
            detail=text,
        ))
    return rows


def _complaint_figures(user, key, zone, *, start, end, today):
    in_range = Q(registered_at__date__gte=start, registered_at__date__lte=end)
    return aggregate_row(
        Complaint.objects.visible_to(user),
        opened=Count("pk", filter=in_range),
        closed=Count("pk", filter=Q(closed_at__date__gte=start, closed_at__date__lte=end)),
        overdue=Count("pk", filter=Q(step_deadline__lt=today) & ~Q(step=Step.CLOSED)),
        registered=Count("pk", filter=Q(kind=Complaint.Kind.REGISTERED) & in_range),
        explicit=Count("pk", filter=Q(kind=Complaint.Kind.EXPLICIT) & in_range),
        hidden=Count("pk", filter=Q(kind=Complaint.Kind.HIDDEN) & in_range),
    )


def _answer_figures(user, key, zone, *, start, end):
    answered = Response.objects.visible_to(user).filter(answered_at__date__gte=start, answered_at__date__lte=end)
    return aggregate_row(
        Answer.objects.filter(response__in=answered),
        average=Avg("score"),
        count=Count("pk"),
        low=Count("pk", filter=Q(score__lte=3)),
    )


def _survey_figures(user, key, zone, *, start, end):
    created = Survey.objects.visible_to(user).filter(created_at__date__gte=start, created_at__date__lte=end)
    return aggregate_row(created, total=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))


# Compiled once per user (their scope: customers.access.scope_key) and time zone (the
# dates of the timestamps), run with the period's dates (crm_project.prepared): built
# through the ORM, the three cost 5-6 ms of Python on every dashboard.
_DAY = DateField()
_COMPLAINT_FIGURES = Prepared(_complaint_figures, start=_DAY, end=_DAY, today=_DAY)
_ANSWER_FIGURES = Prepared(_answer_figures, start=_DAY, end=_DAY)
_SURVEY_FIGURES = Prepared(_survey_figures, start=_DAY, end=_DAY)


def dashboard_figures(user, start: date, end: date, today: date | None = None) -> dict:
    """Complaints opened and closed in [start, end], overdue now, by kind; satisfaction of
    the answers in the range. 3 queries."""
    today = today or business_today()
    shape = (user, scope_key(user), timezone.get_current_timezone())
    # each has its one row, or the default when the user may see nothing (no query then)
    nothing = dict.fromkeys(("opened", "closed", "overdue", "registered", "explicit", "hidden"), 0)
    figures = _COMPLAINT_FIGURES.row(*shape, start=start, end=end, today=today, default=nothing)
    figures.pop("one", None)
    answers = _ANSWER_FIGURES.row(*shape, start=start, end=end, default={"average": None, "count": 0, "low": 0})
    figures["average_score"] = round(float(answers["average"]), 2) if answers["average"] is not None else None
    figures["low_share"] = answers["low"] / answers["count"] if answers["count"] else None
    counted = _SURVEY_FIGURES.row(*shape, start=start, end=end, default={"total": 0, "answered": 0})
    figures["surveys"], figures["answered"] = counted["total"], counted["answered"]
    return figures


def dashboard_widget(request, start: date, end: date, stored: dict | None = None):
    if not request.user.has_perm("complaints.view_complaint"):
        return None
    figures = dashboard_figures(request.user, start, end)
    labels = [str(label) for label in Complaint.Kind.labels]
    counts = [figures["registered"], figures["explicit"], figures["hidden"]]
    chart = charts.bar_chart(labels, [(_("Complaints"), counts)], height=160, label=_("Complaints by kind"))
    return hooks.Widget(title=_("Complaints and satisfaction"), template="complaints/_dashboard_widget.html",
                        context={"figures": figures, "chart": chart}, order=70)


def health_checks(user) -> list:
    """Open complaints within their deadline; surveys of the last year answered; low-score
    responses that opened a complaint. 3 queries."""
    today = business_today()
    open_complaints = Complaint.objects.visible_to(user).exclude(step=Step.CLOSED).aggregate(
        total=Count("pk"), late=Count("pk", filter=Q(step_deadline__lt=today))
    )
    year_ago = months_before(today, 12)
    surveys = Survey.objects.visible_to(user).filter(created_at__date__gt=year_ago).aggregate(
        total=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False))
    )
    low = Response.objects.visible_to(user).filter(answers__score__lte=3).distinct()
    lows = low.aggregate(total=Count("pk", distinct=True),
                         handled=Count("pk", filter=Q(complaint__isnull=False), distinct=True))
    complaints_url = reverse("complaints:complaint_list")
    return [
        hooks.HealthCheck(key="complaints_on_time", label=_("Open complaints within their deadline"),
                          good=open_complaints["total"] - open_complaints["late"], total=open_complaints["total"],
                          url=f"{complaints_url}?overdue=true"),
        hooks.HealthCheck(key="surveys_answered", label=_("Surveys of the last 12 months answered"),
                          good=surveys["answered"], total=surveys["total"],
                          url=reverse("complaints:survey_list") + "?answered=false"),
        hooks.HealthCheck(key="low_scores_handled", label=_("Low-score responses that opened a complaint"),
                          good=lows["handled"], total=lows["total"], url=f"{complaints_url}?channel=survey"),
    ]
