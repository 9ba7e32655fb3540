"""Retention campaigns: audience, steps by delay, drop-out on purchase and opt-out, no double sends."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from loyalty import campaigns
from loyalty.models import Campaign, CampaignMember, CampaignMessage, CampaignStep, OptOut
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory, SettlementLineFactory

pytestmark = pytest.mark.django_db
START = date(2026, 5, 1)


@pytest.fixture
def campaign(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    RecomputeRun.objects.create(as_of=START, status=RecomputeRun.Status.DONE)
    campaign = Campaign.objects.create(name="Win back", statuses=["lost"], classes=["A", "B"], no_purchase_months=4)
    CampaignStep.objects.create(
        campaign=campaign, position=1, delay_days=0, subject="We miss you", body="Hello {{ customer }}, see {{ link }}"
    )
    CampaignStep.objects.create(campaign=campaign, position=2, delay_days=10, subject="A gift", body="Gift: {{ link }}")
    return campaign


def customer(status="lost", abc="A", last_purchase=None, **fields):
    c = CustomerFactory(**fields)
    CustomerSnapshot.objects.create(as_of=START, customer=c, status=status, abc=abc)
    if last_purchase:
        SettlementLineFactory(customer=c, date=last_purchase, amount=Decimal("100"))
    return c


def test_the_saved_filter_picks_status_class_and_no_recent_purchase(campaign):
    picked = customer(last_purchase=date(2025, 12, 1))  # lost, A, no purchase since 1 Jan
    customer(abc="C")  # class C
    customer(status="regular")  # not lost
    customer(last_purchase=date(2026, 2, 1))  # bought within four months
    OptOut.objects.create(customer=customer())  # opted out
    assert campaigns.campaign_start(campaign=campaign, today=START) == 1
    assert list(campaign.members.values_list("customer", flat=True)) == [picked.pk]


def test_steps_go_out_on_their_day_once_even_when_the_task_runs_again(campaign):
    member = customer()
    campaigns.campaign_start(campaign=campaign, today=START)
    assert campaigns.campaigns_send_due(today=START) == 1
    assert campaigns.campaigns_send_due(today=START) == 0  # a retry or a second beat: nothing twice
    assert campaigns.campaigns_send_due(today=START + timedelta(days=9)) == 0
    assert campaigns.campaigns_send_due(today=START + timedelta(days=10)) == 1
    assert [m.subject for m in mail.outbox] == ["We miss you", "A gift"]
    assert mail.outbox[0].to == [member.email]
    assert "Hello " + member.name in mail.outbox[0].body
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED


def test_a_message_claimed_by_another_worker_is_not_sent_again(campaign):
    customer()
    campaigns.campaign_start(campaign=campaign, today=START)
    campaigns.campaigns_send_due(today=START - timedelta(days=1))  # writes nothing yet: step 1 is due on START
    step = campaign.steps.get(position=1)
    member = campaign.members.get()
    CampaignMessage.objects.create(step=step, member=member, status=CampaignMessage.Status.SENDING)
    assert campaigns.campaigns_send_due(today=START) == 0
    assert mail.outbox == []


def test_a_customer_who_buys_drops_out_of_the_series(campaign):
    buyer = customer()
    customer()
    campaigns.campaign_start(campaign=campaign, today=START)
    campaigns.campaigns_send_due(today=START)
    SettlementLineFactory(customer=buyer, date=START + timedelta(days=3), amount=Decimal("250"))
    campaigns.campaigns_send_due(today=START + timedelta(days=10))
    assert CampaignMember.objects.get(customer=buyer).dropped == CampaignMember.Dropped.BOUGHT
    assert len(mail.outbox) == 3  # two first messages, one second
    results = campaigns.campaign_results(campaign, today=START + timedelta(days=20))
    assert [(r.sent, r.buyers, r.revenue) for r in results] == [(2, 1, Decimal("250")), (1, 0, Decimal("0"))]


def test_every_message_carries_a_signed_unsubscribe_link_that_works(campaign, client):
    member = customer()
    customer()
    campaigns.campaign_start(campaign=campaign, today=START)
    campaigns.campaigns_send_due(today=START)
    body = next(m.body for m in mail.outbox if m.to == [member.email])
    token = campaigns.unsubscribe_token(member.pk)
    url = reverse("loyalty:unsubscribe", args=[token])
    assert url in body
    assert client.post(reverse("loyalty:unsubscribe", args=[token + "x"])).status_code == 200
    assert not OptOut.objects.exists()  # a forged token does nothing
    client.post(url)
    assert OptOut.objects.filter(customer=member).exists()
    campaigns.campaigns_send_due(today=START + timedelta(days=10))
    assert [m.to for m in mail.outbox if m.subject == "A gift"] == [
        [c.email] for c in [CampaignMember.objects.exclude(customer=member).get().customer]
    ]


def test_the_tracked_link_records_a_response(campaign, client):
    customer()
    campaigns.campaign_start(campaign=campaign, today=START)
    campaigns.campaigns_send_due(today=START)
    message = CampaignMessage.objects.get()
    assert client.get(reverse("loyalty:campaign_track", args=[campaigns.track_token(message.pk)])).status_code == 200
    message.refresh_from_db()
    assert message.responded_at is not None
    assert campaigns.campaign_results(campaign, today=START)[0].responded == 1


def test_a_customer_without_an_email_is_a_failed_message(campaign):
    customer(email="")
    campaigns.campaign_start(campaign=campaign, today=START)
    assert campaigns.campaigns_send_due(today=START) == 0
    assert CampaignMessage.objects.get().status == CampaignMessage.Status.FAILED


def test_members_who_opted_out_after_the_messages_were_written_are_never_mailed_in_one_statement(campaign):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kept = customer()
    leavers = [customer() for _ in range(5)]
    campaigns.campaign_start(campaign=campaign, today=START)
    step = campaign.steps.get(position=1)
    CampaignMessage.objects.bulk_create([CampaignMessage(step=step, member=m) for m in campaign.members.all()])
    OptOut.objects.bulk_create([OptOut(customer=c) for c in leavers])  # after the rows were written
    with CaptureQueriesContext(connection) as queries:
        assert campaigns._send_pending(campaign, START) == 1
    assert [m.to for m in mail.outbox] == [[kept.email]]
    dropped = CampaignMessage.objects.filter(member__customer__in=leavers)
    assert set(dropped.values_list("status", flat=True)) == {CampaignMessage.Status.FAILED}
    # One UPDATE for all the leavers, none per message: mailing one costs the same with 5 or 50 leavers.
    assert sum("loyalty_optout" in q["sql"] for q in queries.captured_queries) == 1
