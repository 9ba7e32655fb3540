"""The plain rules: workflow requirements, SLA working days, scores, survey scheduling."""

from datetime import date

import pytest

from complaints import satisfaction, sla, workflow
from complaints.satisfaction import CustomerFacts, survey_due
from complaints.workflow import Facts, missing_to_enter

TODAY = date(2026, 12, 2)  # a Wednesday


# Workflow


def test_the_steps_follow_each_other_and_closed_is_last():
    assert workflow.next_step("registered") == "investigating"
    assert workflow.next_step("investigating") == "cause_eliminated"
    assert workflow.next_step("cause_eliminated") == "process_fixed"
    assert workflow.next_step("process_fixed") == "closed"
    assert workflow.next_step("closed") is None


def test_investigating_needs_nothing_written_yet():
    assert missing_to_enter("investigating", Facts(), today=TODAY) == {}


def test_cause_eliminated_needs_the_cause_its_category_and_what_was_done():
    assert set(missing_to_enter("cause_eliminated", Facts(), today=TODAY)) == {"cause", "cause_category", "action"}
    assert set(missing_to_enter("cause_eliminated", Facts(cause="  ", cause_category_id=1, action="x"),
                                today=TODAY)) == {"cause"}
    assert missing_to_enter("cause_eliminated", Facts(cause="Carrier", cause_category_id=1, action="Resent"),
                            today=TODAY) == {}


def test_process_fixed_needs_the_change_and_a_check_date():
    assert set(missing_to_enter("process_fixed", Facts(), today=TODAY)) == {"process_change", "efficacy_check_date"}
    assert missing_to_enter("process_fixed", Facts(process_change="Checklist", efficacy_check_date=TODAY),
                            today=TODAY) == {}


def test_closing_needs_the_efficacy_check_done_on_its_date_and_positive():
    done = Facts(efficacy_check_date=date(2026, 12, 1), efficacy_result="No repeat", efficacy_ok=True)
    assert missing_to_enter("closed", done, today=TODAY) == {}
    early = Facts(efficacy_check_date=date(2026, 12, 3), efficacy_result="No repeat", efficacy_ok=True)
    assert set(missing_to_enter("closed", early, today=TODAY)) == {"efficacy_check_date"}
    failed = Facts(efficacy_check_date=date(2026, 12, 1), efficacy_result="It happened again", efficacy_ok=False)
    assert set(missing_to_enter("closed", failed, today=TODAY)) == {"efficacy_ok"}
    assert set(missing_to_enter("closed", Facts(efficacy_check_date=TODAY), today=TODAY)) == {
        "efficacy_result", "efficacy_ok"}


def test_only_fixed_or_closed_complaints_reopen():
    assert [step for step in workflow.STEPS if workflow.can_reopen(step)] == ["process_fixed", "closed"]


# SLA in working days


def test_friday_plus_one_working_day_is_monday():
    assert sla.add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)


def test_a_deadline_across_a_weekend_and_a_holiday():
    # Thu 24 Dec + 3 working days: Fri 25 (holiday), Sat, Sun, Mon 28, Tue 29, Wed 30
    assert sla.add_working_days(date(2026, 12, 24), 3, {date(2026, 12, 25)}) == date(2026, 12, 30)
    # without the holiday: Fri 25, Mon 28, Tue 29
    assert sla.add_working_days(date(2026, 12, 24), 3) == date(2026, 12, 29)


def test_zero_days_from_a_saturday_is_the_next_monday():
    assert sla.add_working_days(date(2026, 12, 5), 0) == date(2026, 12, 7)


def test_working_days_between_skips_weekends_and_holidays():
    assert sla.working_days_between(date(2026, 12, 24), date(2026, 12, 30), {date(2026, 12, 25)}) == 3


# Scores


@pytest.mark.parametrize(
    "scores,kind",
    [([1], "explicit"), ([2, 5], "explicit"), ([3, 5, 4], "hidden"), ([3, 2], "explicit"), ([4, 5], None),
     ([5], None), ([4], None), ([], None)],
)
def test_the_lowest_score_decides_the_complaint(scores, kind):
    assert satisfaction.complaint_kind(scores) == kind


# Who is surveyed


def facts(**kwargs):
    base = {"customer_id": 1, "active": True, "last_survey": None, "first_bought": {}, "deal_survey_dates": {},
            "usual_product": None}
    return CustomerFacts(**{**base, **kwargs})


def test_an_active_customer_not_surveyed_for_a_year_is_due_its_yearly_survey():
    due = survey_due(facts(last_survey=date(2025, 12, 1), first_bought={7: date(2024, 1, 5)}, usual_product=7),
                     today=TODAY, min_interval_days=90)
    assert (due.product_id, due.reason) == (7, "yearly")


def test_a_customer_surveyed_within_the_year_is_not_due():
    assert survey_due(facts(last_survey=date(2026, 1, 10), first_bought={7: date(2024, 1, 5)}, usual_product=7),
                      today=TODAY, min_interval_days=90) is None


def test_an_inactive_customer_gets_no_yearly_survey():
    assert survey_due(facts(active=False, last_survey=date(2024, 1, 1), first_bought={7: date(2023, 1, 5)},
                            usual_product=7), today=TODAY, min_interval_days=90) is None


def test_a_product_bought_for_the_first_time_since_the_last_survey_is_asked_about():
    due = survey_due(facts(last_survey=date(2026, 6, 1), first_bought={7: date(2024, 1, 5), 9: date(2026, 11, 20)},
                           usual_product=7), today=TODAY, min_interval_days=90)
    assert (due.product_id, due.reason) == (9, "new_product")


def test_the_minimum_interval_holds_back_even_a_new_product():
    assert survey_due(facts(last_survey=date(2026, 10, 1), first_bought={9: date(2026, 11, 20)}),
                      today=TODAY, min_interval_days=90) is None
    # 62 days since the last survey, a 60-day interval: allowed
    due = survey_due(facts(last_survey=date(2026, 10, 1), first_bought={9: date(2026, 11, 20)}),
                     today=TODAY, min_interval_days=60)
    assert due.reason == "new_product"


def test_a_won_deals_survey_date_comes_first_once_reached():
    f = facts(first_bought={9: date(2026, 11, 20)}, deal_survey_dates={5: date(2026, 12, 1)})
    due = survey_due(f, today=TODAY, min_interval_days=90)
    assert (due.product_id, due.reason) == (5, "deal_closed")
    later = facts(deal_survey_dates={5: date(2026, 12, 10)})
    assert survey_due(later, today=TODAY, min_interval_days=90) is None


def test_a_first_purchase_long_ago_is_no_new_product():
    old = facts(active=False, first_bought={9: date(2024, 3, 1)}, usual_product=9)
    assert survey_due(old, today=TODAY, min_interval_days=90) is None
