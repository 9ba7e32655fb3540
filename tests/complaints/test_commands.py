"""send_survey and export_complaints, through the same services as the pages."""

import csv
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from complaints import services
from complaints.models import Complaint, Survey, SurveySettings
from tests.complaints.conftest import scores
from tests.complaints.test_survey_mail import server as server  # noqa: F401 - the failing mail server fixture
from tests.factories import ProductFactory


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_send_survey_mails_the_main_contact_and_prints_the_link_last(cust_a, contact_a, product, questionnaire):
    output = run("send_survey", cust_a.external_ref, "--product", "CO-010", "--base-url", "https://crm.example")
    link = output.strip().splitlines()[-1]
    assert link.startswith("https://crm.example/s/")
    survey = Survey.objects.get()
    token = link.rstrip("/").rsplit("/", 1)[-1]
    assert survey.token_hash == Survey.hash_token(token) and survey.contact == contact_a
    assert mail.outbox[0].to == ["anna@alpha.example"] and link in mail.outbox[0].body
    assert services.survey_by_token(token) == (survey, "ok")


def test_send_survey_fails_clearly_without_a_questionnaire(cust_a, contact_a):
    ProductFactory(sku="BARE-1", name="Bare")
    with pytest.raises(CommandError, match="has no questionnaire"):
        run("send_survey", cust_a.external_ref, "--product", "BARE-1")
    assert not Survey.objects.exists() and not mail.outbox


def test_send_survey_fails_clearly_within_the_minimum_interval(cust_a, contact_a, product, questionnaire):
    SurveySettings.objects.create(min_interval_days=60)
    run("send_survey", cust_a.external_ref, "--product", "CO-010")
    with pytest.raises(CommandError, match="next survey is allowed from"):
        run("send_survey", cust_a.external_ref, "--product", "CO-010")
    assert Survey.objects.count() == 1 and len(mail.outbox) == 1


def test_send_survey_says_what_the_mail_server_answered_and_keeps_nothing(
    cust_a, contact_a, product, questionnaire, server
):
    server.accept, server.error = 0, ConnectionRefusedError("refused")
    with pytest.raises(CommandError, match=r"not sent \(refused\); nothing was saved"):
        run("send_survey", cust_a.external_ref, "--product", "CO-010")
    assert not Survey.objects.exists() and len(server.handed) == 1


def test_send_survey_exits_non_zero_from_the_shell(cust_a, product):
    with pytest.raises(SystemExit) as exit_:
        from django.core.management import ManagementUtility

        ManagementUtility(["manage.py", "send_survey", cust_a.external_ref, "--product", "CO-010"]).execute()
    assert exit_.value.code == 1


def test_send_survey_without_an_address_leaves_no_survey(cust_a, product, questionnaire):
    cust_a.email = ""
    cust_a.save()
    with pytest.raises(CommandError, match="no e-mail address"):
        run("send_survey", cust_a.external_ref, "--product", "CO-010")
    assert not Survey.objects.exists()


def test_export_complaints_writes_exactly_the_columns(cust_a, mgr_a, product, questions, tmp_path):
    registered = services.complaint_register(customer=cust_a, owner=mgr_a, description="=cmd|x", actor=mgr_a,
                                             product=product, today=timezone.localdate())
    survey, _token = services.survey_create(customer=cust_a, product=product,
                                            today=timezone.localdate() + timedelta(days=1))
    response = services.survey_respond(survey=survey, answers=scores(questions, 3, 4, 5))
    hidden = Complaint.objects.get(response=response)
    target = tmp_path / "complaints.csv"
    assert "2 complaints written" in run("export_complaints", str(target))
    rows = list(csv.reader(target.open(encoding="utf-8")))
    assert rows[0] == ["id", "customer", "product", "kind", "step", "owner", "deadline", "response"]
    assert rows[1] == [str(registered.pk), cust_a.external_ref, "CO-010", "registered", "registered", "mgr_a",
                       registered.step_deadline.isoformat(), ""]
    assert rows[2] == [str(hidden.pk), cust_a.external_ref, "CO-010", "hidden", "registered", "mgr_a",
                       hidden.step_deadline.isoformat(), str(response.pk)]
