"""What the complaints app shows on other apps' pages, through crm_project.hooks: the
card panel, agenda rows, the director's dashboard widget and process health checks.
Each costs a fixed number of queries."""

from datetime import date

from django.db.models import Avg, Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from crm_project import charts, hooks
from crm_project.dates import business_today, months_before
from customers.access import customer_scope

from .models import Answer, Complaint, Response, Step, Survey

CARD_LIMIT = 5
AGENDA_LIMIT = 50


def card_panel(request, customer):
    """Open complaints of the customer (overdue flagged) and the last survey's average. 3 queries."""
    if not request.user.has_perm("complaints.view_complaint"):
        return None
    today = business_today()
    open_complaints = Complaint.objects.filter(customer=customer).exclude(step=Step.CLOSED)
    counts = open_complaints.aggregate(open=Count("pk"), overdue=Count("pk", filter=Q(step_deadline__lt=today)))
    complaints = list(open_complaints.order_by("step_deadline", "pk")[:CARD_LIMIT])
    for complaint in complaints:
        complaint.is_overdue = complaint.step_deadline is not None and complaint.step_deadline < today
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


def agenda_rows(*, viewer, owner, today: date) -> list:
    """The owner's complaints to act on (new ones to take up, overdue ones) and the
    surveys to make by call, as the viewer may see them. 2 queries."""
    visible = customer_scope(viewer, prefix="customer__")
    complaints = (
        Complaint.objects.filter(visible, owner=owner)
        .filter(Q(step=Step.REGISTERED) | (Q(step_deadline__lt=today) & ~Q(step=Step.CLOSED)))
        .select_related("customer")
        .order_by("step_deadline", "pk")[:AGENDA_LIMIT]
    )
    rows = []
    for complaint in complaints:
        overdue = complaint.is_overdue(today)
        rows.append(
            hooks.AgendaRow(
                kind=_("Overdue complaint") if overdue else _("New complaint"),
                date=complaint.step_deadline or today,
                customer_id=complaint.customer_id,
                customer_name=complaint.customer.name,
                text=f"#{complaint.pk} {complaint.get_kind_display()}: {complaint.get_step_display()}",
                url=complaint.get_absolute_url(),
                overdue=overdue,
                slug=f"complaint-{complaint.kind} complaint-{'overdue' if overdue else 'new'}",
                detail=complaint.description[:80],
            )
        )
    calls = (
        Survey.objects.filter(customer_scope(viewer, prefix="customer__"), customer__manager=owner,
                              channel=Survey.Channel.CALL, answered_at__isnull=True)
        .select_related("customer", "product")
        .order_by("created_at")[:AGENDA_LIMIT]
    )
    for survey in calls:
        rows.append(
            hooks.AgendaRow(
                kind=_("Survey to make"),
                date=survey.created_at.date(),
                customer_id=survey.customer_id,
                customer_name=survey.customer.name,
                text=_("Ask about %(product)s") % {"product": survey.product.name},
                url=reverse("complaints:survey_fill", args=[survey.pk]),
                slug="survey-call",
                detail=survey.get_reason_display(),
            )
        )
    return rows


def dashboard_figures(user, start: date, end: date, today: date | None = None) -> dict:
    """Complaints opened and closed in [start, end], overdue now, by kind; satisfaction of
    the answers in the range. 3 queries."""
    today = today or business_today()
    complaints = Complaint.objects.visible_to(user)
    figures = complaints.aggregate(
        opened=Count("pk", filter=Q(registered_at__date__gte=start, registered_at__date__lte=end)),
        closed=Count("pk", filter=Q(closed_at__date__gte=start, closed_at__date__lte=end)),
        overdue=Count("pk", filter=Q(step_deadline__lt=today) & ~Q(step=Step.CLOSED)),
        registered=Count("pk", filter=Q(kind=Complaint.Kind.REGISTERED, registered_at__date__gte=start,
                                        registered_at__date__lte=end)),
        explicit=Count("pk", filter=Q(kind=Complaint.Kind.EXPLICIT, registered_at__date__gte=start,
                                      registered_at__date__lte=end)),
        hidden=Count("pk", filter=Q(kind=Complaint.Kind.HIDDEN, registered_at__date__gte=start,
                                    registered_at__date__lte=end)),
    )
    answers = Answer.objects.filter(
        response__in=Response.objects.visible_to(user).filter(answered_at__date__gte=start,
                                                              answered_at__date__lte=end)
    ).aggregate(average=Avg("score"), count=Count("pk"), low=Count("pk", filter=Q(score__lte=3)))
    figures["average_score"] = round(float(answers["average"]), 2) if answers["average"] is not None else None
    figures["low_share"] = answers["low"] / answers["count"] if answers["count"] else None
    surveys = Survey.objects.visible_to(user).filter(created_at__date__gte=start, created_at__date__lte=end)
    counted = surveys.aggregate(total=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
    figures["surveys"], figures["answered"] = counted["total"], counted["answered"]
    return figures


def dashboard_widget(request, start: date, end: date):
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
