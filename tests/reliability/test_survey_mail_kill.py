"""Issue 16 with a real kill: the nightly survey job runs in its own process against the
test PostgreSQL database and is SIGKILLed while the mail server has its third e-mail.
Every e-mail that went out links to a committed survey marked sent (the old job created
the surveys and sent everything in one transaction: killed midway, the surveys were
rolled back and the e-mails already out were dead links); the one being sent is left
"sending" and never sent again; the rest go out once with the next run."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection

from complaints import services
from complaints.models import Question, Questionnaire, Survey
from crm_project.dates import business_today
from customers.models import ProductLine
from tests.conftest import require
from tests.factories import CustomerFactory, ProductFactory, SettlementLineFactory
from tests.reliability.test_job_kill import database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

LINK = re.compile(r"https?://[^/\s]+/s/([^/\s]+)/")


def test_a_job_killed_mid_send_leaves_every_sent_link_working_and_resends_nothing(tmp_path, settings):
    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the killed job and the test share a PostgreSQL database")
    line = ProductLine.objects.create(name="Consumables")
    product = ProductFactory(sku="KILL-1", line=line)
    questionnaire = Questionnaire.objects.create(name="Consumables", product_line=line)
    Question.objects.create(questionnaire=questionnaire, text="Quality", order=10)
    customers = [CustomerFactory() for _ in range(5)]
    for customer in customers:
        SettlementLineFactory(customer=customer, product=product, date=business_today() - timedelta(days=10),
                              amount=100)

    taken = tmp_path / "taken.jsonl"
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "crm_project.settings",
           "EMAIL_BACKEND": "tests.reliability.killing_mail.EmailBackend", "CRM_MAIL_FILE": str(taken),
           "CRM_KILL_AT": "3"}  # fmt: skip
    job = subprocess.run(
        [sys.executable, "-c",
         "import django; django.setup(); from complaints import tasks; tasks.schedule_surveys_task()"],
        env=env, cwd=settings.BASE_DIR, capture_output=True, timeout=120,
    )  # fmt: skip
    assert job.returncode == -9, job.stderr.decode()[-2000:]

    sent = [json.loads(row) for row in taken.read_text().splitlines()]
    assert len(sent) == 2
    for message in sent:
        survey, state = services.survey_by_token(LINK.search(message["body"]).group(1))
        assert state == services.LinkState.OK and services.survey_recipient(survey) == message["to"]
        assert survey.delivery == Survey.Delivery.SENT and survey.sent_at is not None
    states = sorted(Survey.objects.values_list("delivery", flat=True))
    assert states == ["pending", "pending", "sending", "sent", "sent"]
    stuck = services.survey_recipient(Survey.objects.get(delivery=Survey.Delivery.SENDING))

    mail.outbox = []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.surveys_schedule_due()["emailed"] == 2  # the next night: the two left "to send"
    assert services.surveys_send_waiting()["sent"] == 0
    again = [message.to[0] for message in mail.outbox]
    everyone = sorted([message["to"] for message in sent] + again)
    assert stuck not in everyone and len(set(everyone)) == len(everyone) == 4
    assert sorted(everyone + [stuck]) == sorted(customer.email for customer in customers)
