"""Survey e-mails go out at most once and are retried when the mail server fails before
taking them (issue 16; the rules are crm_project/mail_retry.py, as for the campaigns in
tests/reliability/test_mail_retry.py). The nightly job commits the surveys "to send",
then claims, sends and marks each e-mail on its own; the periodic task sends the retries
that are due, each with a new link whose hash replaces the last one."""

import copy
import re
import smtplib
from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone

from complaints import services, tasks
from complaints.models import Survey
from crm_project import mail_retry
from customers.models import Contact
from sales_pipeline.models import Deal, DealLine
from tests.factories import CustomerFactory, SettlementLineFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 2)
LINK = re.compile(r"https?://[^/\s]+/s/([^/\s]+)/")


class FailingServer(EmailBackend):
    """locmem with a mail server that takes `accept` messages (None: all), then raises
    `error` for every message after, in a batch too (a connection dropped midway), and
    raises `close_error` on QUIT. `handed` keeps every message handed to it, taken or not."""

    accept: int | None = None
    error: BaseException | None = None
    close_error: BaseException | None = None
    handed: list = []

    def open(self):
        return True

    def close(self):
        if FailingServer.close_error is not None:
            raise FailingServer.close_error

    def send_messages(self, messages):
        for message in messages:
            FailingServer.handed.append(message)
            if FailingServer.accept is not None:
                if FailingServer.accept <= 0:
                    raise FailingServer.error
                FailingServer.accept -= 1
            message.message()
            mail.outbox.append(copy.deepcopy(message))
        return len(messages)


@pytest.fixture
def server(settings):
    settings.EMAIL_BACKEND = "tests.complaints.test_survey_mail.FailingServer"
    FailingServer.accept, FailingServer.error, FailingServer.close_error = None, None, None
    FailingServer.handed = []
    mail.outbox = []
    return FailingServer


def buyers(product, count):
    """`count` customers with an address who bought `product` ten days ago: each is due a survey."""
    customers = []
    for _ in range(count):
        customer = CustomerFactory()
        SettlementLineFactory(customer=customer, product=product, date=TODAY - timedelta(days=10), amount=100)
        customers.append(customer)
    return customers


def nightly(at):
    with time_machine.travel(at, tick=False):
        return services.surveys_schedule_due(today=TODAY, base_url="https://crm.example")


def periodic(at):
    with time_machine.travel(at, tick=False):
        return services.surveys_send_waiting(today=TODAY, base_url="https://crm.example")


def token_of(message) -> str:
    return LINK.search(message.body).group(1)


def opens(message) -> Survey:
    """The survey the e-mail's link opens, checked to be the recipient's."""
    survey, state = services.survey_by_token(token_of(message))
    assert state == services.LinkState.OK
    assert services.survey_recipient(survey) == message.to[0]
    return survey


def states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for delivery in Survey.objects.values_list("delivery", flat=True):
        counts[delivery] = counts.get(delivery, 0) + 1
    return counts


def test_a_server_failing_after_two_messages_leaves_two_sent_and_sends_the_rest_once_later(
    product, questionnaire, server
):
    customers = buyers(product, 5)
    server.accept, server.error = 2, smtplib.SMTPServerDisconnected("connection lost")
    t0 = timezone.now()
    result = nightly(t0)
    assert result == {"created": 5, "calls": 0, "emailed": 2, "retrying": 3, "failed": 0}
    assert states() == {"sent": 2, "retry": 3}
    first = [opens(message) for message in mail.outbox]
    assert all(survey.delivery == "sent" and survey.sent_at is not None for survey in first)
    for survey in Survey.objects.filter(delivery="retry"):
        assert (survey.attempts, survey.sent_at) == (1, None)
        assert survey.next_attempt_at == t0 + mail_retry.backoff(1)
        assert "connection lost" in survey.delivery_error

    server.accept = None  # the server is back
    assert periodic(t0 + timedelta(minutes=5))["sent"] == 0  # not due yet
    with time_machine.travel(t0 + timedelta(minutes=11), tick=False):
        assert tasks.send_survey_emails_task.delay().get().startswith("survey e-mails sent 3,")
    assert states() == {"sent": 5}
    assert sorted(message.to[0] for message in mail.outbox) == sorted(c.email for c in customers)  # each once
    assert len({opens(message).pk for message in mail.outbox}) == 5  # every link that went out works
    assert nightly(t0 + timedelta(days=1))["emailed"] == 0
    assert len(mail.outbox) == 5


def test_a_permanent_refusal_fails_the_survey_and_is_never_retried(mgr_a, product, questionnaire, server):
    dealer = CustomerFactory(manager=mgr_a)
    Contact.objects.create(customer=dealer, name="Dee", email="dee@closer.example", is_primary=True)
    deal = Deal.objects.create(customer=dealer, manager=mgr_a, title="Film", sale_type="long_push", status="won",
                               survey_date=TODAY - timedelta(days=1), closed_at=timezone.now() - timedelta(days=20))
    DealLine.objects.create(deal=deal, product=product, price=10)
    server.accept, server.error = 0, smtplib.SMTPRecipientsRefused({"dee@closer.example": (550, b"no such user")})
    t0 = timezone.now()
    assert nightly(t0)["failed"] == 1
    survey = Survey.objects.get()
    assert (survey.delivery, survey.attempts, survey.sent_at, survey.next_attempt_at) == ("failed", 1, None, None)
    assert "no such user" in survey.delivery_error
    deal.refresh_from_db()
    assert deal.survey_sent is None  # only an accepted e-mail clears the deal's "survey not sent"
    server.accept = None
    periodic(t0 + mail_retry.MAX_BACKOFF + timedelta(minutes=1))
    nightly(t0 + timedelta(days=1))
    assert len(server.handed) == 1 and mail.outbox == []


def test_a_retry_carries_a_new_link_and_the_first_one_no_longer_opens_the_survey(product, questionnaire, server):
    buyers(product, 1)
    server.accept, server.error = 0, ConnectionRefusedError("refused")
    t0 = timezone.now()
    nightly(t0)
    first_token = token_of(server.handed[0])  # in the e-mail the server did not take
    server.accept = None
    periodic(t0 + timedelta(minutes=11))
    (message,) = mail.outbox
    survey = opens(message)
    assert (survey.delivery, survey.attempts) == ("sent", 2)
    assert token_of(message) != first_token
    assert services.survey_by_token(first_token) == (None, services.LinkState.INVALID)
    assert survey.expires > t0 + timedelta(minutes=11) + timedelta(days=29)  # valid from the e-mail that went out


def test_a_survey_left_sending_by_a_killed_worker_is_not_sent_again(product, questionnaire, server):
    buyers(product, 3)
    # The worker dies while the server has the second e-mail: no except clause runs.
    server.accept, server.error = 1, SystemExit("killed")
    t0 = timezone.now()
    with pytest.raises(SystemExit):
        nightly(t0)
    assert states() == {"sent": 1, "sending": 1, "pending": 1}
    stuck = Survey.objects.get(delivery="sending")
    server.accept = None
    periodic(t0 + timedelta(hours=1))
    nightly(t0 + timedelta(days=1))
    assert states() == {"sent": 2, "sending": 1}  # it may have gone out: left for the admin to see
    assert services.survey_recipient(stuck) not in [message.to[0] for message in mail.outbox]
    assert len(mail.outbox) == 2


def test_an_error_after_the_server_took_the_e_mail_counts_as_sent(product, questionnaire, server):
    buyers(product, 1)
    server.close_error = smtplib.SMTPServerDisconnected("lost on QUIT")
    t0 = timezone.now()
    assert nightly(t0)["emailed"] == 1
    server.close_error = None
    periodic(t0 + timedelta(hours=1))
    assert len(mail.outbox) == 1 and Survey.objects.get().delivery == "sent"


def test_retries_are_bounded(product, questionnaire, server):
    buyers(product, 1)
    server.accept, server.error = 0, TimeoutError("timed out")
    at = timezone.now()
    nightly(at)
    for _ in range(mail_retry.MAX_ATTEMPTS + 2):
        at += mail_retry.MAX_BACKOFF + timedelta(minutes=1)
        periodic(at)
    survey = Survey.objects.get()
    assert (survey.delivery, survey.attempts) == ("failed", mail_retry.MAX_ATTEMPTS)
    assert len(server.handed) == mail_retry.MAX_ATTEMPTS


def test_a_survey_answered_during_a_call_before_its_retry_is_not_e_mailed(mgr_a, product, questions, server):
    buyers(product, 1)
    server.accept, server.error = 0, ConnectionRefusedError("refused")
    t0 = timezone.now()
    nightly(t0)
    survey = Survey.objects.get()
    services.survey_respond(survey=survey, answers={q.pk: (5, "") for q in questions}, filled_by=mgr_a)
    server.accept = None
    periodic(t0 + timedelta(minutes=11))
    survey.refresh_from_db()
    assert (survey.delivery, len(mail.outbox)) == ("failed", 0)


def test_a_survey_started_by_hand_whose_e_mail_fails_is_sent_by_the_periodic_task(
    cust_a, contact_a, mgr_a, product, questionnaire, server, client_for
):
    server.accept, server.error = 0, smtplib.SMTPDataError(451, b"try again later")
    response = client_for(mgr_a).post(reverse("complaints:survey_start"),
                                      {"customer": cust_a.pk, "product": product.pk, "channel": "email"})
    assert response.status_code == 302  # the survey exists; the page says the e-mail will follow
    survey = Survey.objects.get()
    assert (survey.delivery, survey.attempts, survey.sent_at) == ("retry", 1, None)
    first_token = token_of(server.handed[0])
    server.accept = None
    periodic(timezone.now() + timedelta(minutes=11))
    (message,) = mail.outbox
    assert opens(message) == survey and message.to == ["anna@alpha.example"]
    assert services.survey_by_token(first_token)[1] == services.LinkState.INVALID


def test_the_retries_are_picked_up_every_quarter_hour():
    entry = django_settings.CELERY_BEAT_SCHEDULE["complaints-survey-emails"]
    assert entry["task"] == tasks.send_survey_emails_task.name
    assert entry["options"]["expires"] < 15 * 60


def test_the_admin_shows_each_surveys_delivery_attempts_and_last_error(product, questionnaire, server, admin_client):
    buyers(product, 1)
    server.accept, server.error = 0, smtplib.SMTPDataError(451, b"mailbox busy")
    nightly(timezone.now())
    page = admin_client.get(reverse("admin:complaints_survey_changelist"), {"delivery__exact": "retry"})
    text = page.content.decode()
    assert page.status_code == 200 and "Waiting to retry" in text and "mailbox busy" in text
    assert 'class="field-attempts">1<' in text


def send_again_in_admin(client, surveys):
    return client.post(reverse("admin:complaints_survey_changelist"), {
        "action": "send_again", "_selected_action": [survey.pk for survey in surveys]}, follow=True)


def test_the_admin_sends_a_stuck_survey_again_once_with_a_new_link(product, questionnaire, server, admin_client):
    buyers(product, 3)
    server.accept, server.error = 1, SystemExit("killed")
    t0 = timezone.now()
    with pytest.raises(SystemExit):
        nightly(t0)
    stuck = Survey.objects.get(delivery="sending")
    old_hash = stuck.token_hash
    server.accept = None
    page = send_again_in_admin(admin_client, Survey.objects.all())  # one sent, one stuck, one waiting
    text = page.content.decode()
    assert "1 survey e-mail will be sent again" in text and "2 surveys left alone" in text
    stuck.refresh_from_db()
    assert (stuck.delivery, stuck.attempts, stuck.delivery_error) == ("pending", 0, "")
    periodic(t0 + timedelta(minutes=15))
    periodic(t0 + timedelta(minutes=30))
    stuck.refresh_from_db()
    assert stuck.delivery == "sent" and stuck.token_hash != old_hash
    again = [message for message in mail.outbox if message.to[0] == services.survey_recipient(stuck)]
    assert len(again) == 1 and opens(again[0]) == stuck
    assert len(mail.outbox) == 3  # the first survey once, the one left pending once, the stuck one once


def test_the_admin_does_not_send_again_an_answered_or_sent_survey(mgr_a, product, questions, server, admin_client):
    buyers(product, 2)
    server.accept, server.error = 0, smtplib.SMTPDataError(550, b"no such mailbox")
    nightly(timezone.now())
    assert states() == {"failed": 2}
    answered = Survey.objects.first()
    Survey.objects.filter(pk=answered.pk).update(answered_at=timezone.now())
    send_again_in_admin(admin_client, Survey.objects.all())
    assert sorted(Survey.objects.values_list("delivery", flat=True)) == ["failed", "pending"]
    assert Survey.objects.get(pk=answered.pk).delivery == "failed"


def test_only_who_may_change_surveys_can_send_them_again(product, questionnaire, server, client, django_user_model):
    buyers(product, 1)
    server.accept, server.error = 0, smtplib.SMTPDataError(550, b"no such mailbox")
    nightly(timezone.now())
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_survey"))
    client.force_login(staff)
    page = send_again_in_admin(client, Survey.objects.all())
    assert page.status_code == 200 and Survey.objects.get().delivery == "failed"
    assert "send_again" not in client.get(reverse("admin:complaints_survey_changelist")).content.decode()
