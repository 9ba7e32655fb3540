"""Complaint transitions with their audit rows, surveys and the complaints low scores open."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintAttachment,
    NonWorkingDay,
    Response,
    SlaRule,
    Survey,
    SurveySettings,
)
from sales_pipeline.models import Deal
from tests.complaints.conftest import scores

WED = date(2026, 12, 2)


@pytest.fixture
def complaint(cust_a, mgr_a, product):
    return services.complaint_register(customer=cust_a, owner=mgr_a, description="Film arrived torn", actor=mgr_a,
                                       severity="medium", product=product, today=WED)


def advance(complaint, actor, today=WED, **changes):
    return services.complaint_advance(complaint=complaint, actor=actor, changes=changes, today=today)


# Registering and the SLA


def test_registering_writes_the_first_audit_row_and_the_sla_deadline(complaint, mgr_a):
    # medium: 2 working days at "registered" (sla.DEFAULT_DAYS): Wed 2 Dec -> Fri 4 Dec
    assert complaint.step == "registered" and complaint.step_deadline == date(2026, 12, 4)
    row = complaint.transitions.get()
    assert (row.from_step, row.to_step, row.by, row.text) == ("", "registered", mgr_a, "Film arrived torn")


def test_an_admin_set_sla_and_holiday_move_the_deadline(cust_a, mgr_a):
    SlaRule.objects.create(severity="high", step="registered", working_days=3)
    NonWorkingDay.objects.create(date=date(2026, 12, 25), name="Christmas Day")
    complaint = services.complaint_register(customer=cust_a, owner=mgr_a, description="x", actor=mgr_a,
                                            severity="high", today=date(2026, 12, 24))
    # Thu 24 + 3 working days, skipping Fri 25 (holiday) and the weekend: Wed 30 Dec
    assert complaint.step_deadline == date(2026, 12, 30)


def test_registering_needs_a_description(cust_a, mgr_a):
    with pytest.raises(ValidationError) as error:
        services.complaint_register(customer=cust_a, owner=mgr_a, description="  ", actor=mgr_a)
    assert "description" in error.value.message_dict
    assert not Complaint.objects.exists()


def test_a_bad_attachment_saves_nothing(cust_a, mgr_a):
    fake = SimpleUploadedFile("photo.pdf", b"MZ\x90\x00 an executable")
    with pytest.raises(ValidationError):
        services.complaint_register(customer=cust_a, owner=mgr_a, description="x", actor=mgr_a, attachments=[fake])
    assert not Complaint.objects.exists() and not ComplaintAttachment.objects.exists()


def test_a_checked_attachment_is_kept(complaint, mgr_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    pdf = SimpleUploadedFile("photo.pdf", b"%PDF-1.4 torn film")
    attachment = services.attachment_add(complaint=complaint, upload=pdf, actor=mgr_a)
    assert attachment.title == "photo.pdf" and attachment.file.read() == b"%PDF-1.4 torn film"


# Every transition and what it needs


def test_every_step_refuses_to_be_entered_without_its_text_and_saves_nothing(complaint, mgr_a, category):
    complaint = advance(complaint, mgr_a)
    assert complaint.step == "investigating"
    with pytest.raises(ValidationError) as error:
        advance(complaint, mgr_a, cause="Carrier dropped the pallet")
    assert set(error.value.message_dict) == {"cause_category", "action"}
    complaint.refresh_from_db()
    assert complaint.step == "investigating" and complaint.cause == ""

    complaint = advance(complaint, mgr_a, cause="Carrier dropped the pallet", cause_category=category,
                        action="Resent the order")
    assert complaint.step == "cause_eliminated"
    with pytest.raises(ValidationError) as error:
        advance(complaint, mgr_a, process_change="")
    assert set(error.value.message_dict) == {"process_change", "efficacy_check_date"}

    complaint = advance(complaint, mgr_a, process_change="Corner guards on every pallet",
                        efficacy_check_date=date(2026, 12, 16))
    assert complaint.step == "process_fixed"
    with pytest.raises(ValidationError) as error:
        advance(complaint, mgr_a, efficacy_result="No repeat", efficacy_ok=True)  # before the check date
    assert set(error.value.message_dict) == {"efficacy_check_date"}
    with pytest.raises(ValidationError) as error:
        advance(complaint, mgr_a, today=date(2026, 12, 16), efficacy_result="")
    assert set(error.value.message_dict) == {"efficacy_result", "efficacy_ok"}

    complaint = advance(complaint, mgr_a, today=date(2026, 12, 16), efficacy_result="No repeat", efficacy_ok=True)
    assert complaint.step == "closed" and complaint.closed_at is not None and complaint.step_deadline is None
    steps = list(complaint.transitions.values_list("from_step", "to_step"))
    assert steps == [("", "registered"), ("registered", "investigating"), ("investigating", "cause_eliminated"),
                     ("cause_eliminated", "process_fixed"), ("process_fixed", "closed")]
    assert set(complaint.transitions.values_list("by", flat=True)) == {mgr_a.pk}
    with pytest.raises(ValidationError):
        advance(complaint, mgr_a)


def test_leaving_a_step_after_its_deadline_is_recorded_as_late(complaint, mgr_a):
    # registered's deadline is Fri 4 Dec; taken up on Mon 7 Dec
    complaint = advance(complaint, mgr_a, today=date(2026, 12, 7))
    row = complaint.transitions.last()
    assert (row.deadline, row.late) == (date(2026, 12, 4), True)
    # medium: 5 working days investigating from Mon 7 Dec -> Mon 14 Dec
    assert complaint.step_deadline == date(2026, 12, 14)


def test_reopening_goes_back_to_investigating_with_a_reason_and_is_counted(complaint, mgr_a, category):
    with pytest.raises(ValidationError):
        services.complaint_reopen(complaint=complaint, actor=mgr_a, text="Again", today=WED)  # only fixed/closed
    complaint = advance(advance(complaint, mgr_a), mgr_a, cause="c", cause_category=category, action="a")
    complaint = advance(complaint, mgr_a, process_change="p", efficacy_check_date=WED)
    complaint = advance(complaint, mgr_a, efficacy_result="ok", efficacy_ok=True)
    with pytest.raises(ValidationError) as error:
        services.complaint_reopen(complaint=complaint, actor=mgr_a, text=" ", today=WED)
    assert "text" in error.value.message_dict
    complaint = services.complaint_reopen(complaint=complaint, actor=mgr_a, text="Torn again", today=WED)
    assert (complaint.step, complaint.reopen_count, complaint.closed_at, complaint.efficacy_ok) == (
        "investigating", 1, None, None)
    row = complaint.transitions.last()
    assert (row.from_step, row.to_step, row.is_reopen, row.text) == ("closed", "investigating", True, "Torn again")


# Surveys


def test_a_survey_link_is_random_stored_hashed_and_expires(cust_a, contact_a, product, questionnaire):
    survey, token = services.survey_create(customer=cust_a, product=product)
    assert len(token) >= 43  # 32 random bytes, base64: 256 bits
    assert survey.token_hash == Survey.hash_token(token) and token not in survey.token_hash
    assert survey.contact == contact_a and survey.questionnaire == questionnaire
    assert timezone.now() + timedelta(days=29) < survey.expires <= timezone.now() + timedelta(days=30)
    assert services.survey_by_token(token) == (survey, "ok")
    assert services.survey_by_token(token[:-1] + ("A" if token[-1] != "A" else "B")) == (None, "invalid")


def test_sending_e_mails_the_link_to_the_main_contact(cust_a, contact_a, product, questionnaire):
    survey, token = services.survey_create(customer=cust_a, product=product)
    link = services.survey_send(survey=survey, token=token, base_url="https://crm.example")
    assert link == f"https://crm.example/s/{token}/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["anna@alpha.example"] and link in mail.outbox[0].body
    survey.refresh_from_db()
    assert survey.sent_at is not None


def test_no_questionnaire_no_survey(cust_a, product):
    with pytest.raises(services.SurveyRefused):
        services.survey_create(customer=cust_a, product=product)
    assert not Survey.objects.exists()


def test_the_minimum_interval_refuses_a_second_survey(cust_a, product, questionnaire):
    SurveySettings.objects.create(min_interval_days=90)
    services.survey_create(customer=cust_a, product=product)
    with pytest.raises(services.SurveyRefused, match="next survey is allowed from"):
        services.survey_create(customer=cust_a, product=product)
    assert Survey.objects.count() == 1
    later = timezone.localdate() + timedelta(days=90)
    services.survey_create(customer=cust_a, product=product, today=later)
    assert Survey.objects.count() == 2


@pytest.mark.parametrize("low,kind", [(1, "explicit"), (2, "explicit"), (3, "hidden")])
def test_a_score_of_3_or_less_opens_a_complaint_owned_by_the_customers_manager(
    low, kind, cust_a, mgr_a, contact_a, product, questions
):
    survey, _token = services.survey_create(customer=cust_a, product=product)
    response = services.survey_respond(survey=survey, answers=scores(questions, 5, low, 4, comment="late"))
    complaint = Complaint.objects.get()
    assert (complaint.kind, complaint.owner, complaint.customer, complaint.product, complaint.response) == (
        kind, mgr_a, cust_a, product, response)
    assert complaint.channel == "survey" and "Delivery speed: " + str(low) in complaint.description
    assert complaint.transitions.count() == 1


@pytest.mark.parametrize("low", [4, 5])
def test_scores_of_4_and_5_open_nothing(low, cust_a, product, questions):
    survey, _token = services.survey_create(customer=cust_a, product=product)
    services.survey_respond(survey=survey, answers=scores(questions, 5, low, low))
    assert Response.objects.count() == 1 and not Complaint.objects.exists()


def test_a_response_submitted_twice_saves_once_and_opens_one_complaint(cust_a, product, questions):
    survey, _token = services.survey_create(customer=cust_a, product=product)
    services.survey_respond(survey=survey, answers=scores(questions, 3, 3, 3))
    with pytest.raises(services.SurveyAnswered):
        services.survey_respond(survey=survey, answers=scores(questions, 1, 1, 1))
    assert Response.objects.count() == 1 and Complaint.objects.count() == 1
    assert Complaint.objects.get().kind == "hidden"


def test_an_incomplete_response_saves_nothing(cust_a, product, questions):
    survey, _token = services.survey_create(customer=cust_a, product=product)
    with pytest.raises(ValidationError):
        services.survey_respond(survey=survey, answers=scores(questions[:2], 1, 1))
    survey.refresh_from_db()
    assert survey.answered_at is None and not Response.objects.exists() and not Complaint.objects.exists()


def test_a_pool_customers_low_score_goes_to_whoever_filled_it_in(pool_customer, mgr_b, product, questions):
    survey, _token = services.survey_create(customer=pool_customer, product=product, channel="call")
    assert survey.token_hash is None
    services.survey_respond(survey=survey, answers=scores(questions, 2, 4, 4), filled_by=mgr_b)
    assert Complaint.objects.get().owner == mgr_b


# The deal's closing grade


@pytest.mark.parametrize("grade,kind", [(2, "explicit"), (3, "hidden"), (4, None), (5, None)])
def test_the_deals_closing_grade_follows_the_same_rule_once(grade, kind, cust_a, mgr_a):
    deal = Deal.objects.create(customer=cust_a, manager=mgr_a, title="Film", sale_type="long_push")
    assert not Complaint.objects.exists()
    deal.closing_grade = grade
    deal.save(update_fields=["closing_grade"])
    deal.save()  # saved again: still one complaint
    assert list(Complaint.objects.values_list("kind", "channel", "deal")) == (
        [(kind, "deal_grade", deal.pk)] if kind else [])
