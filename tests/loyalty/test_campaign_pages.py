"""Campaign pages: create and edit with the steps formset, field errors, the audience
preview, start and stop, the list (filters, sort, export), access; query counts pinned."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_project.dates import business_today
from loyalty import campaigns
from loyalty.models import Campaign, CampaignMember, CampaignMessage, CampaignStep
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def form_data(name="Win back", statuses=("lost",), classes=("A", "B"), months="4", steps=(), initial=0, **extra):
    """POST data of the campaign form: `steps` are (delay, subject, body) rows."""
    data = {
        "name": name,
        "statuses": list(statuses),
        "classes": list(classes),
        "no_purchase_months": months,
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, (delay, subject, body) in enumerate(steps):
        data[f"steps-{i}-delay_days"] = str(delay)
        data[f"steps-{i}-subject"] = subject
        data[f"steps-{i}-body"] = body
    data.update(extra)
    return data


def snapshot(customer, status="lost", abc="A"):
    as_of = business_today()
    RecomputeRun.objects.get_or_create(as_of=as_of, defaults={"status": RecomputeRun.Status.DONE})
    CustomerSnapshot.objects.create(as_of=as_of, customer=customer, status=status, abc=abc)


def draft(name="Win back", steps=2, **fields) -> Campaign:
    campaign = Campaign.objects.create(name=name, statuses=["lost"], **fields)
    for position in range(1, steps + 1):
        CampaignStep.objects.create(
            campaign=campaign, position=position, delay_days=7 * (position - 1), subject=f"Step {position}", body="Hi"
        )
    return campaign


def test_a_director_creates_a_campaign_with_its_steps_in_order(dir_1, client_for):
    client = client_for(dir_1)
    assert client.get(reverse("loyalty:campaign_create")).status_code == 200
    steps = [(0, "We miss you", "Hello {{ customer }}: {{ link }}"), (10, "A gift for you", "{{ link }}")]
    response = client.post(reverse("loyalty:campaign_create"), form_data(steps=steps))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response.url == campaign.get_absolute_url()
    assert (campaign.status, campaign.statuses, campaign.classes, campaign.no_purchase_months) == (
        Campaign.Status.DRAFT,
        ["lost"],
        ["A", "B"],
        4,
    )
    assert campaign.created_by == dir_1
    assert list(campaign.steps.values_list("position", "delay_days", "subject")) == [
        (1, 0, "We miss you"),
        (2, 10, "A gift for you"),
    ]


def test_field_errors_are_shown_and_nothing_is_saved(dir_1, client_for):
    client = client_for(dir_1)
    bad = form_data(name="", months="0", steps=[(400, "", "Hello {% if %}")])
    page = client.post(reverse("loyalty:campaign_create"), bad)
    assert page.status_code == 200
    form, steps = page.context["form"], page.context["steps"]
    assert set(form.errors) == {"name", "no_purchase_months"}
    assert set(steps.forms[0].errors) == {"delay_days", "subject", "body"}
    html = page.content.decode()
    assert "not a valid template" in html and "At most 365 days" in html
    assert 'value="Hello {% if %}"' in html or "Hello {% if %}</textarea>" in html  # what was typed stays
    assert not Campaign.objects.exists()


def test_a_campaign_needs_at_least_one_step(dir_1, client_for):
    page = client_for(dir_1).post(reverse("loyalty:campaign_create"), form_data(steps=[(0, "", "")]))
    assert page.status_code == 200
    assert "Give at least one message step." in page.content.decode()
    assert not Campaign.objects.exists()


def test_the_preview_counts_the_audience_of_the_filter_as_typed_and_saves_nothing(dir_1, mgr_a, mgr_c, client_for):
    for manager in (mgr_a, mgr_a, mgr_c):
        snapshot(CustomerFactory(manager=manager), status="lost", abc="A")
    snapshot(CustomerFactory(manager=mgr_a), status="regular", abc="A")
    client = client_for(dir_1)
    page = client.post(reverse("loyalty:campaign_create"), form_data(months="", preview="1"))
    count = page.context["audience_count"]
    # Three lost A customers in all; two of them in the director's team.
    assert (count.total, count.visible) == (3, 2)
    assert "The filter picks 3 customers today" in page.content.decode()
    assert not Campaign.objects.exists()
    page = client.post(reverse("loyalty:campaign_create"), form_data(statuses=(), months="", preview="1"))
    assert page.context["audience_count"].total == 4


def test_editing_a_draft_rewrites_its_steps_and_a_running_campaign_cannot_be_edited(dir_1, client_for):
    campaign = draft(steps=2)
    client = client_for(dir_1)
    page = client.get(reverse("loyalty:campaign_edit", args=[campaign.pk]))
    assert page.status_code == 200 and len(page.context["steps"].forms) == 3  # two steps and a blank one
    first, second = campaign.steps.order_by("position")
    data = form_data(name="Win back, again", steps=[(0, "First", "One"), (3, "Second", "Two")], initial=2)
    data.update({"steps-0-id": first.pk, "steps-1-id": second.pk, "steps-0-DELETE": "on"})
    data["steps-TOTAL_FORMS"] = "3"
    data.update({"steps-2-delay_days": "5", "steps-2-subject": "Third", "steps-2-body": "Three"})
    response = client.post(reverse("loyalty:campaign_edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "Win back, again"
    assert list(campaign.steps.values_list("position", "delay_days", "subject")) == [(1, 3, "Second"), (2, 5, "Third")]
    campaigns.campaign_start(campaign=campaign)
    response = client.get(reverse("loyalty:campaign_edit", args=[campaign.pk]))
    assert response.status_code == 302
    response = client.post(reverse("loyalty:campaign_edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.steps.count() == 2 and campaign.status == Campaign.Status.RUNNING


def test_start_then_stop_from_the_page(dir_1, mgr_a, client_for, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    snapshot(CustomerFactory(manager=mgr_a, email="a@example.com"))
    campaign = draft(steps=2)
    client = client_for(dir_1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("loyalty:campaign_start", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and campaign.members.count() == 1
    # The first step went out (eager Celery); write the second's messages as if it were due.
    assert CampaignMessage.objects.filter(status=CampaignMessage.Status.SENT).count() == 1
    CampaignMessage.objects.create(step=campaign.steps.get(position=2), member=campaign.members.get())
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert 'id="campaign-stop"' in page and 'id="campaign-start"' not in page
    client.post(reverse("loyalty:campaign_stop", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_on) == (Campaign.Status.STOPPED, business_today())
    # What was waiting is withdrawn; what was sent stays in the results.
    assert list(CampaignMessage.objects.values_list("status", flat=True)) == [CampaignMessage.Status.SENT]
    assert campaigns.campaigns_send_due(today=date(2099, 1, 1)) == 0
    response = client.post(reverse("loyalty:campaign_stop", args=[campaign.pk]), follow=True)
    assert "Only a running campaign can be stopped." in response.content.decode()


def test_managers_see_campaigns_but_cannot_create_edit_start_or_stop_them(mgr_a, client_for):
    campaign = draft()
    client = client_for(mgr_a)
    assert client.get(reverse("loyalty:campaign_list")).status_code == 200
    assert client.get(campaign.get_absolute_url()).status_code == 200
    assert client.get(reverse("loyalty:campaign_create")).status_code == 403
    assert client.post(reverse("loyalty:campaign_create"), form_data(steps=[(0, "S", "B")])).status_code == 403
    assert client.get(reverse("loyalty:campaign_edit", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("loyalty:campaign_start", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("loyalty:campaign_stop", args=[campaign.pk])).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and Campaign.objects.count() == 1


def test_the_campaign_page_counts_only_the_members_the_viewer_may_see(mgr_a, mgr_c, client_for):
    campaign = draft()
    campaign.status, campaign.started_on = Campaign.Status.RUNNING, date(2026, 5, 1)
    campaign.save()
    mine = [CustomerFactory(manager=mgr_a, name=f"Mine {i}") for i in range(2)]
    theirs = [CustomerFactory(manager=mgr_c, name=f"Theirs {i}") for i in range(3)]
    for customer in mine + theirs:
        CampaignMember.objects.create(campaign=campaign, customer=customer, joined_on=date(2026, 5, 1))
    CampaignMember.objects.filter(customer=theirs[0]).update(dropped=CampaignMember.Dropped.BOUGHT)
    page = client_for(mgr_a).get(campaign.get_absolute_url())
    assert page.context["counts"] == {"total": 2, "bought": 0, "opted_out": 0}
    html = page.content.decode()
    assert "2 of your customers" in html and "Theirs" not in html and "dropped out: bought" not in html
    listing = client_for(mgr_a).get(reverse("loyalty:campaign_list"))
    assert [row.record.member_count for row in listing.context["table"].rows] == [2]


def test_the_list_filters_sorts_and_exports(dir_1, client_for):
    draft(name="Alpha draft")
    running = draft(name="Bravo running", steps=3)
    running.status, running.started_on = Campaign.Status.RUNNING, date(2026, 5, 1)
    running.save()
    client = client_for(dir_1)
    url = reverse("loyalty:campaign_list")
    names = lambda response: [row.record.name for row in response.context["table"].rows]  # noqa: E731
    assert names(client.get(url, {"status": "running"})) == ["Bravo running"]
    assert names(client.get(url, {"name": "alpha"})) == ["Alpha draft"]
    assert names(client.get(url, {"sort": "name"})) == ["Alpha draft", "Bravo running"]
    assert names(client.get(url, {"sort": "-step_count"})) == ["Bravo running", "Alpha draft"]
    assert names(client.get(url, {"started_from": "2026-04-01"})) == ["Bravo running"]
    exported = client.get(url, {"_export": "csv", "status": "running"}).content.decode()
    assert "Bravo running" in exported and "Alpha draft" not in exported and "Running" in exported


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_and_the_campaign_page_cost_the_same_queries_at_two_sizes(dir_1, mgr_a, client_for):
    client = client_for(dir_1)
    small = draft(name="Small", steps=1)
    CampaignMember.objects.create(campaign=small, customer=CustomerFactory(manager=mgr_a), joined_on=date(2026, 5, 1))
    list_small, page_small = (
        _queries(client, reverse("loyalty:campaign_list")),
        _queries(client, small.get_absolute_url()),
    )
    big = draft(name="Big", steps=4)
    for i in range(12):
        draft(name=f"More {i}", steps=2)
    for _ in range(15):
        CampaignMember.objects.create(campaign=big, customer=CustomerFactory(manager=mgr_a), joined_on=date(2026, 5, 1))
    assert _queries(client, reverse("loyalty:campaign_list")) == list_small
    assert _queries(client, big.get_absolute_url()) == page_small
    assert _queries(client, reverse("loyalty:campaign_edit", args=[small.pk])) == _queries(
        client, reverse("loyalty:campaign_edit", args=[big.pk])
    )
