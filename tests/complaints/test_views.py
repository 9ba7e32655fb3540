"""The complaint pages: list (scoped, filtered, overdue flagged, constant queries),
registration, the step form, the manager's survey, statistics, and the hooks."""

from datetime import datetime, timedelta

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import contributions, services
from complaints.models import Answer, CauseCategory, Complaint, Response, Survey
from crm_project import hooks
from tests.complaints.conftest import scores
from tests.factories import CustomerFactory, ProductFactory

LIST = reverse("complaints:complaint_list")


def register(customer, owner, *, days_ago=0, **kwargs):
    at = timezone.now() - timedelta(days=days_ago)
    day = timezone.localdate(at)
    return services.complaint_register(customer=customer, owner=owner, description=kwargs.pop("description", "x"),
                                       actor=owner, today=day, at=at, **kwargs)


def test_another_managers_complaint_is_404_and_absent_from_the_list(cust_a, mgr_a, mgr_b, client_for):
    complaint = register(cust_a, mgr_a, description="Alpha Works film torn")
    client = client_for(mgr_b)
    assert client.get(complaint.get_absolute_url()).status_code == 404
    assert b"Alpha Works" not in client.get(LIST).content
    assert b"Alpha Works" not in client.get(LIST, {"_export": "csv"}).content
    assert client_for(mgr_a).get(complaint.get_absolute_url()).status_code == 200


def test_overdue_complaints_are_flagged_and_filterable(cust_a, mgr_a, client_for):
    late = register(cust_a, mgr_a, days_ago=30, description="late one")
    fresh = register(cust_a, mgr_a, description="fresh one")
    client = client_for(mgr_a)
    page = client.get(LIST).content.decode()
    assert page.count("complaint-overdue") == 1
    overdue = client.get(LIST, {"overdue": "true"}).context["table"].data.data
    assert [c.pk for c in overdue] == [late.pk]
    csv = client.get(LIST, {"_export": "csv"}).content.decode()
    assert f"{late.pk}," in csv and f"{fresh.pk}," in csv and ",yes," in csv


def _list_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST).status_code == 200
    return len(queries)


def test_the_list_runs_the_same_queries_for_3_or_30_complaints(cust_a, mgr_a, product, client_for):
    client = client_for(mgr_a)
    category = CauseCategory.objects.create(name="Packaging")
    for _ in range(3):
        register(cust_a, mgr_a, product=product, days_ago=20)
    small = _list_queries(client)
    for index in range(27):
        complaint = register(CustomerFactory(manager=mgr_a), mgr_a, product=ProductFactory())
        if index % 3 == 0:
            Complaint.objects.filter(pk=complaint.pk).update(cause_category=category)
    assert _list_queries(client) == small


def test_a_manager_registers_a_complaint_for_their_customer(cust_a, contact_a, mgr_a, product, client_for):
    client = client_for(mgr_a)
    form = client.get(reverse("complaints:complaint_create"), {"customer": cust_a.pk})
    assert "Anna Alpha" in form.content.decode()  # the customer's contacts are offered
    response = client.post(reverse("complaints:complaint_create"), {
        "customer": cust_a.pk, "contact": contact_a.pk, "channel": "phone", "product": product.pk,
        "severity": "high", "description": "The film tears on the machine",
    })
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == complaint.get_absolute_url()
    assert (complaint.owner, complaint.contact, complaint.kind, complaint.severity) == (mgr_a, contact_a,
                                                                                       "registered", "high")


def test_registering_shows_field_errors_and_refuses_others_customers(cust_a, cust_c, mgr_a, client_for):
    client = client_for(mgr_a)
    response = client.post(reverse("complaints:complaint_create"), {"customer": cust_c.pk, "channel": "phone",
                                                                    "severity": "low", "description": ""})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"customer", "description"}
    assert not Complaint.objects.exists()


def test_the_step_form_needs_its_text_then_moves_the_complaint(cust_a, mgr_a, client_for):
    complaint = register(cust_a, mgr_a)
    complaint = services.complaint_advance(complaint=complaint, actor=mgr_a)
    client = client_for(mgr_a)
    url = reverse("complaints:complaint_advance", args=[complaint.pk])
    refused = client.post(url, {"cause": "Carrier"})
    assert refused.status_code == 200
    assert set(refused.context["advance_form"].errors) == {"cause_category", "action"}
    complaint.refresh_from_db()
    assert complaint.step == "investigating" and complaint.cause == ""
    category = CauseCategory.objects.create(name="Carrier")
    moved = client.post(url, {"cause": "Carrier", "cause_category": category.pk, "action": "Resent",
                              "text": "Called the carrier"})
    assert moved.status_code == 302
    complaint.refresh_from_db()
    assert complaint.step == "cause_eliminated"
    assert complaint.transitions.last().text == "Called the carrier"
    detail = client.get(complaint.get_absolute_url()).content.decode()
    assert "Called the carrier" in detail and "Process fixed" in detail


def test_a_manager_fills_in_a_survey_during_a_call(cust_a, mgr_a, product, questions, client_for):
    client = client_for(mgr_a)
    response = client.post(reverse("complaints:survey_start"), {"customer": cust_a.pk, "product": product.pk,
                                                                "channel": "call"})
    survey = Survey.objects.get()
    assert response["Location"] == reverse("complaints:survey_fill", args=[survey.pk])
    data = {f"q{q.pk}": v for q, v in zip(questions, ["4", "2", "5"], strict=True)}
    response = client.post(reverse("complaints:survey_fill", args=[survey.pk]), data)
    complaint = Complaint.objects.get()
    assert response["Location"] == complaint.get_absolute_url()
    assert (complaint.kind, Response.objects.get().filled_by) == ("explicit", mgr_a)


def test_the_survey_page_refuses_a_product_without_questionnaire(cust_a, mgr_a, client_for):
    bare = ProductFactory(sku="BARE")
    response = client_for(mgr_a).post(reverse("complaints:survey_start"), {"customer": cust_a.pk,
                                                                           "product": bare.pk, "channel": "call"})
    assert response.status_code == 200 and "has no questionnaire" in response.content.decode()
    assert not Survey.objects.exists()


# Statistics on a hand-built set


@pytest.fixture
def hand_built(cust_a, mgr_a, mgr_b, product, questions):
    """Four complaints of T1: two on the film (one closed in 9 days, one left overdue), one
    on labels, one of mgr_b's; two answered surveys: (5, 3, 4) and (2, 4, 4)."""
    labels = ProductFactory(sku="CO-020", name="Labels", line=product.line)
    packaging = CauseCategory.objects.create(name="Packaging")
    cust_b = CustomerFactory(name="Bravo", manager=mgr_b)
    today = timezone.localdate()
    closed = register(cust_a, mgr_a, product=product, days_ago=20, severity="high")
    start = today - timedelta(days=20)
    for offset, changes in ((1, {}), (3, {"cause": "c", "cause_category": packaging, "action": "a"}),
                            (5, {"process_change": "p", "efficacy_check_date": start + timedelta(days=9)}),
                            (9, {"efficacy_result": "ok", "efficacy_ok": True})):
        day = start + timedelta(days=offset)
        closed = services.complaint_advance(complaint=closed, actor=mgr_a, changes=changes, today=day,
                                            at=timezone.make_aware(datetime.combine(day, datetime.min.time()))
                                            + timedelta(hours=10))
    register(cust_a, mgr_a, product=product, days_ago=15, channel="email")  # left at registered: overdue
    register(cust_a, mgr_a, product=labels, days_ago=1)
    register(cust_b, mgr_b, days_ago=2, channel="email")
    for values in ((5, 3, 4), (2, 4, 4)):
        survey, _token = services.survey_create(customer=cust_a, product=product,
                                                today=today + timedelta(days=1000 * values[0]))
        services.survey_respond(survey=survey, answers=scores(questions, *values))
    services.survey_create(customer=cust_b, product=product)  # sent, not answered
    return {"labels": labels}


def test_statistics_count_and_compose_a_hand_built_set(hand_built, dir_1, client_for):
    client = client_for(dir_1)
    response = client.get(reverse("complaints:statistics"))
    context = response.context
    # 4 registered by hand + 2 opened by the surveys (a 3: hidden, a 2: explicit)
    assert context["total"] == 6
    by = {name: dict(zip(frame["label"], frame["count"], strict=True))
          for name, _label, frame, _chart in context["compositions"]}
    assert by["product"] == {"Shrink film roll": 4, "Labels": 1, "—": 1}
    assert by["kind"] == {"Registered complaint": 4, "Hidden dissatisfaction": 1, "Explicit dissatisfaction": 1}
    assert by["step"] == {"Registered": 5, "Closed": 1}
    assert by["cause_category"] == {"—": 5, "Packaging": 1}
    assert by["manager"] == {"mgr_a": 5, "mgr_b": 1}
    assert by["channel"] == {"Phone": 2, "E-mail": 2, "Survey": 2}
    assert context["close"] == {"count": 1, "mean": 9.0, "median": 9.0, "max": 9}
    # The closed one left every step within its SLA (high: 1, 3, 5, 15 working days; it took
    # 1, 2, 2, 4 calendar days); the one left at "registered" for 15 days is overdue now.
    assert context["breaches"] == {"complaints": 1, "late_steps": 0, "overdue_now": 1, "total": 6}
    assert (context["surveys"], context["answered"], context["response_rate"]) == (3, 2, 66.7)
    satisfaction = {name: frame.set_index("label") for name, _label, frame, _chart in context["satisfactions"]}
    # answers: 5, 3, 4, 2, 4, 4 -> average 22/6 = 3.67; two of six <= 3
    film = satisfaction["product"].loc["Shrink film roll"]
    assert (film["responses"], film["answers"], film["average"], round(film["low_share"], 4)) == (2, 6, 3.67, 0.3333)
    quality = satisfaction["question"].loc["Product quality"]  # 5 and 2
    assert (quality["average"], quality["low_share"]) == (3.5, 0.5)
    assert satisfaction["manager"].loc["mgr_a"]["average"] == 3.67
    assert "<svg" in response.content.decode()


def test_statistics_export_one_table(hand_built, dir_1, client_for):
    csv = client_for(dir_1).get(reverse("complaints:statistics"), {"table": "product", "_export": "csv"})
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Product,Complaints,Share %"
    assert lines[1] == "Shrink film roll,4,66.7"


def test_a_manager_sees_only_their_scope_in_statistics(hand_built, mgr_b, client_for):
    assert client_for(mgr_b).get(reverse("complaints:statistics")).context["total"] == 1


# Hooks


def test_a_new_complaint_from_a_survey_is_on_the_owners_agenda(cust_a, mgr_a, mgr_b, product, questions,
                                                                 client_for):
    survey, _token = services.survey_create(customer=cust_a, product=product)
    services.survey_respond(survey=survey, answers=scores(questions, 4, 3, 4))
    today = timezone.localdate()
    rows = contributions.agenda_rows(viewer=mgr_a, owner=mgr_a, today=today)
    assert [(row.kind, row.customer_name, row.overdue) for row in rows] == [("New complaint", "Alpha Works", False)]
    assert contributions.agenda_rows(viewer=mgr_b, owner=mgr_b, today=today) == []
    page = client_for(mgr_a).get(reverse("customers:agenda")).content.decode()
    assert "complaint-hidden" in page and "Hidden dissatisfaction" in page


def test_an_overdue_complaint_is_flagged_on_the_agenda_and_the_card(cust_a, mgr_a, client_for):
    complaint = services.complaint_advance(complaint=register(cust_a, mgr_a, days_ago=30), actor=mgr_a,
                                           today=timezone.localdate() - timedelta(days=29))
    rows = contributions.agenda_rows(viewer=mgr_a, owner=mgr_a, today=timezone.localdate())
    assert [(row.kind, row.overdue, row.url) for row in rows] == [("Overdue complaint", True,
                                                                    complaint.get_absolute_url())]
    card = client_for(mgr_a).get(cust_a.get_absolute_url()).content.decode()
    assert "card-complaints" in card and "1 overdue" in card


def test_the_card_panel_costs_the_same_queries_for_1_or_10_complaints(cust_a, mgr_a, rf):
    request = rf.get("/")
    request.user = mgr_a

    def count():
        with CaptureQueriesContext(connection) as queries:
            contributions.card_panel(request, cust_a)
        return len(queries)

    register(cust_a, mgr_a)
    mgr_a.has_perm("complaints.view_complaint")  # permission cache filled outside the count
    small = count()
    for _ in range(9):
        register(cust_a, mgr_a, days_ago=30)
    assert count() == small


def test_dashboard_figures_of_someone_who_sees_nothing_are_zero(hand_built, django_user_model):
    today = timezone.localdate()
    nobody = django_user_model.objects.create_user("no_role", password="x")  # no group: sees no customer
    figures = contributions.dashboard_figures(nobody, today - timedelta(days=30), today)
    assert figures == {
        "opened": 0, "closed": 0, "overdue": 0, "registered": 0, "explicit": 0, "hidden": 0,
        "average_score": None, "low_share": None, "surveys": 0, "answered": 0,
    }  # fmt: skip


def test_dashboard_and_health_figures(hand_built, dir_1, rf):
    today = timezone.localdate()
    figures = contributions.dashboard_figures(dir_1, today - timedelta(days=30), today)
    assert (figures["opened"], figures["closed"], figures["registered"], figures["explicit"], figures["hidden"]) == (
        6, 1, 4, 1, 1)
    assert (figures["average_score"], round(figures["low_share"], 4), figures["surveys"], figures["answered"]) == (
        3.67, 0.3333, 3, 2)
    checks = {check.key: (check.good, check.total) for check in contributions.health_checks(dir_1)}
    open_total = Complaint.objects.exclude(step="closed").count()
    overdue = Complaint.objects.exclude(step="closed").filter(step_deadline__lt=today).count()
    assert checks["complaints_on_time"] == (open_total - overdue, open_total)
    assert checks["surveys_answered"] == (2, 3)
    assert checks["low_scores_handled"] == (2, 2)
    request = rf.get("/")
    request.user = dir_1
    assert contributions.dashboard_widget in hooks.get_hooks(hooks.DASHBOARD_WIDGETS)
    assert contributions.health_checks in hooks.get_hooks(hooks.PROCESS_HEALTH)
    assert contributions.dashboard_widget(request, today - timedelta(days=30), today).template == (
        "complaints/_dashboard_widget.html")


def test_answers_are_kept_one_per_question(hand_built):
    assert Answer.objects.count() == 6


def test_satisfaction_over_time_per_product_or_question(hand_built, dir_1, client_for):
    client = client_for(dir_1)
    quarter = str(pd.Period(timezone.localdate(), freq="Q"))
    by_question = client.get(reverse("complaints:statistics"), {"over": "question"}).context["over_time"]
    # this quarter: Product quality 5 and 2, Delivery speed 3 and 4, Packaging 4 and 4
    assert by_question.loc[quarter].to_dict() == {"Delivery speed": 3.5, "Packaging": 4.0, "Product quality": 3.5}
    csv = client.get(reverse("complaints:statistics"), {"over": "product", "table": "over-time", "_export": "csv"})
    assert csv.content.decode("utf-8-sig").splitlines() == ["Period,Shrink film roll", f"{quarter},3.67"]


def test_the_card_panel_counts_every_open_complaint_and_lists_the_first_five(cust_a, mgr_a, rf):
    from complaints.models import Step

    request = rf.get("/")
    request.user = mgr_a
    late = [register(cust_a, mgr_a, days_ago=30, description=f"late {n}") for n in range(2)]
    fresh = [register(cust_a, mgr_a, description=f"fresh {n}") for n in range(5)]
    closed = register(cust_a, mgr_a, days_ago=40, description="closed")
    Complaint.objects.filter(pk=closed.pk).update(step=Step.CLOSED)
    register(CustomerFactory(manager=mgr_a), mgr_a, days_ago=30)  # another customer's
    panel = contributions.card_panel(request, cust_a)
    assert (panel.context["open_count"], panel.context["overdue_count"]) == (7, 2)
    shown = panel.context["complaints"]
    assert len(shown) == 5 and {c.pk for c in late} <= {c.pk for c in shown} and closed.pk not in {c.pk for c in shown}
    assert [c.is_overdue for c in shown].count(True) == 2 and len(fresh) == 5


def test_the_card_panel_without_open_complaints_counts_nothing(cust_a, mgr_a, rf):
    request = rf.get("/")
    request.user = mgr_a
    panel = contributions.card_panel(request, cust_a)
    assert (panel.context["open_count"], panel.context["overdue_count"], panel.context["complaints"]) == (0, 0, [])
