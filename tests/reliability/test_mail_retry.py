"""A campaign step whose e-mail fails is retried with bounded attempts and a backoff by
the hourly task, and is never sent twice: not after a success, not after a failure that
came once the server had accepted it (an error on QUIT), not by a second worker.
The semantics are in crm_project/mail_retry.py."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from crm_project import mail_retry
from loyalty import campaigns
from loyalty.models import CampaignMessage
from tests.loyalty.test_campaigns import START, customer
from tests.loyalty.test_campaigns import campaign as campaign  # noqa: F401 - the running campaign fixture

pytestmark = pytest.mark.django_db

BACKEND = "tests.reliability.test_mail_retry.FlakyBackend"


class FlakyBackend(EmailBackend):
    """locmem, failing as told: `plan` is a list of None (deliver), an exception raised
    before delivery, or ("after", exception): delivered, then raised on close."""

    plan: list = []
    raise_on_close = None

    def open(self):
        return True

    def send_messages(self, messages):
        step = FlakyBackend.plan.pop(0) if FlakyBackend.plan else None
        if isinstance(step, tuple):
            FlakyBackend.raise_on_close = step[1]
            step = None
        if step is not None:
            raise step
        return super().send_messages(messages)

    def close(self):
        error, FlakyBackend.raise_on_close = FlakyBackend.raise_on_close, None
        if error is not None:
            raise error


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = BACKEND
    FlakyBackend.plan = []
    FlakyBackend.raise_on_close = None
    mail.outbox = []
    return FlakyBackend


def started(campaign):
    customer(email="lost@example.com")
    campaigns.campaign_start(campaign=campaign, today=START)


def send(at, today=START):
    with time_machine.travel(at, tick=False):
        return campaigns.campaigns_send_due(today=today)


def only_message():
    return CampaignMessage.objects.get(step__position=1)


def test_a_transient_failure_is_retried_after_the_backoff_and_sent_once(campaign, flaky):
    started(campaign)
    flaky.plan = [smtplib.SMTPServerDisconnected("gone")]
    t0 = timezone.now()
    assert send(t0) == 0
    message = only_message()
    assert (message.status, message.attempts) == ("retry", 1)
    assert message.next_attempt_at == t0 + mail_retry.backoff(1)
    assert send(t0 + timedelta(minutes=5)) == 0  # not due yet
    assert only_message().attempts == 1
    assert send(t0 + timedelta(minutes=11)) == 1
    message = only_message()
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert send(t0 + timedelta(hours=2)) == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<campaign-message-{message.pk}@")


def test_attempts_are_bounded(campaign, flaky):
    started(campaign)
    flaky.plan = [ConnectionRefusedError("refused")] * 10
    at = timezone.now()
    for _ in range(mail_retry.MAX_ATTEMPTS + 3):
        send(at)
        at += mail_retry.MAX_BACKOFF + timedelta(minutes=1)
    message = only_message()
    assert (message.status, message.attempts) == ("failed", mail_retry.MAX_ATTEMPTS)
    assert len(mail.outbox) == 0


def test_a_permanent_refusal_is_not_retried(campaign, flaky):
    started(campaign)
    flaky.plan = [smtplib.SMTPRecipientsRefused({"lost@example.com": (550, b"no such user")})]
    send(timezone.now())
    assert (only_message().status, only_message().attempts) == ("failed", 1)
    send(timezone.now() + timedelta(days=1))
    assert only_message().attempts == 1


def test_an_error_after_the_server_accepted_counts_as_sent(campaign, flaky):
    started(campaign)
    flaky.plan = [("after", smtplib.SMTPServerDisconnected("lost on QUIT"))]
    assert send(timezone.now()) == 1
    assert only_message().status == "sent"
    send(timezone.now() + timedelta(days=1))
    assert len(mail.outbox) == 1


def test_a_message_left_sending_by_a_killed_worker_is_not_sent_again(campaign, flaky):
    started(campaign)
    flaky.plan = [ConnectionRefusedError("refused")]
    send(timezone.now())
    assert only_message().status == "retry"
    CampaignMessage.objects.update(status="sending")  # claimed by a worker killed mid-send
    send(timezone.now() + timedelta(days=1))
    assert len(mail.outbox) == 0 and only_message().status == "sending"


def test_backoff_doubles_up_to_a_cap():
    assert [mail_retry.backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (10, 20, 40)]
    assert mail_retry.backoff(20) == mail_retry.MAX_BACKOFF
    assert mail_retry.is_transient(smtplib.SMTPDataError(451, b"try later"))
    assert not mail_retry.is_transient(smtplib.SMTPDataError(554, b"rejected"))
    assert not mail_retry.is_transient(ValueError("no address"))


def test_the_admin_sends_a_stuck_message_again_once(campaign, flaky, admin_client):
    from django.urls import reverse

    started(campaign)
    send(timezone.now())
    CampaignMessage.objects.update(status="sending", attempts=1)  # claimed by a worker killed mid-send
    mail.outbox = []
    page = admin_client.post(reverse("admin:loyalty_campaignmessage_changelist"), {
        "action": "send_again", "_selected_action": [only_message().pk]}, follow=True)
    assert "1 message will be sent again" in page.content.decode()
    assert (only_message().status, only_message().attempts) == ("pending", 0)
    send(timezone.now() + timedelta(minutes=1))
    send(timezone.now() + timedelta(minutes=2))
    assert len(mail.outbox) == 1 and only_message().status == "sent"


def test_a_message_of_a_stopped_campaign_or_a_sent_one_is_not_sent_again(campaign, flaky):
    started(campaign)
    send(timezone.now())
    assert only_message().status == "sent"
    assert campaigns.messages_send_again(CampaignMessage.objects.all()) == 0
    CampaignMessage.objects.update(status="failed")
    campaigns.campaign_stop(campaign=campaign, today=START)
    assert campaigns.messages_send_again(CampaignMessage.objects.all()) == 0
    assert only_message().status == "failed"
