"""Control points at their date edges: the day before, the day of and the day after each
control date (sales_pipeline.control_points)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sales_pipeline import deal_rules
from sales_pipeline.control_points import by_manager, control_points
from sales_pipeline.models import RefusalReason, Stage
from sales_pipeline.services import deals as deal_services
from tests.sales_pipeline.test_pipeline import advance, fill, open_deal, pay_in_full

TODAY = timezone.localdate
EDGES = [(-1, False), (0, False), (1, True)]  # days after the control date -> overdue?


def kinds_on(user, today, kind) -> list[int]:
    return [point.deal_id for point in control_points(user=user, today=today, kinds={kind})]


@pytest.mark.parametrize("offset,overdue", EDGES)
def test_an_offer_is_overdue_from_the_day_after_it_expires(offset, overdue, mgr_a):
    deal = advance(open_deal(mgr_a), Stage.OFFER, mgr_a)
    expires = TODAY() + timedelta(days=20)
    deal_services.deal_update(deal=deal, changes={"offer_sent": TODAY(), "offer_expires": expires}, actor=mgr_a)
    assert (deal.pk in kinds_on(mgr_a, expires + timedelta(days=offset), "offer_expired")) is overdue


@pytest.mark.parametrize("offset,overdue", EDGES)
def test_an_unpaid_invoice_is_overdue_from_the_day_after_it_expires(offset, overdue, mgr_a):
    deal = advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a)
    deal = fill(deal, Stage.PAYMENT, mgr_a)  # half paid, expires in 14 days
    expires = deal.invoice_expires
    assert (deal.pk in kinds_on(mgr_a, expires + timedelta(days=offset), "invoice_expired")) is overdue


def test_a_paid_invoice_is_never_overdue(mgr_a):
    deal = fill(advance(open_deal(mgr_a), Stage.PAYMENT, mgr_a), Stage.PAYMENT, mgr_a)
    pay_in_full(deal, mgr_a)
    assert kinds_on(mgr_a, deal.invoice_expires + timedelta(days=30), "invoice_expired") == []


@pytest.mark.parametrize("offset,overdue", EDGES)
def test_an_event_passed_without_closing_is_overdue_from_the_day_after(offset, overdue, mgr_a):
    deal = advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a)
    event = TODAY() + timedelta(days=7)
    deal_services.deal_update(deal=deal, changes={"event_date": event}, actor=mgr_a)
    assert (deal.pk in kinds_on(mgr_a, event + timedelta(days=offset), "event_passed")) is overdue


def won_deal(manager):
    deal = advance(open_deal(manager), Stage.CLOSING, manager)
    pay_in_full(deal, manager)
    fill(deal, Stage.CLOSING, manager)
    return deal_services.deal_close(deal=deal, actor=manager)


@pytest.mark.parametrize("offset,overdue", EDGES)
def test_a_survey_not_sent_is_overdue_from_the_day_after_its_date(offset, overdue, mgr_a):
    deal = won_deal(mgr_a)
    assert (deal.pk in kinds_on(mgr_a, deal.survey_date + timedelta(days=offset), "survey_not_sent")) is overdue


def test_a_sent_survey_is_not_overdue(mgr_a):
    deal = won_deal(mgr_a)
    deal_services.deal_update(deal=deal, changes={"survey_sent": TODAY()}, actor=mgr_a)
    assert kinds_on(mgr_a, deal.survey_date + timedelta(days=5), "survey_not_sent") == []


@pytest.mark.parametrize("offset,reached", [(-1, False), (0, True), (1, True)])
def test_a_retry_date_is_reached_on_the_day_itself(offset, reached, mgr_a):
    deal = fill(open_deal(mgr_a), Stage.PRESENTATION, mgr_a)
    retry = TODAY() + timedelta(days=90)
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    deal_services.deal_lose(deal=deal, reason=reason, comment="Next year", retry_date=retry, actor=mgr_a)
    assert (deal.pk in kinds_on(mgr_a, retry + timedelta(days=offset), "retry_reached")) is reached


def test_a_retry_is_no_longer_listed_once_a_new_deal_is_opened(mgr_a):
    deal = open_deal(mgr_a)
    retry = TODAY() + timedelta(days=90)
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    deal_services.deal_lose(deal=deal, reason=reason, comment="Next year", retry_date=retry, actor=mgr_a)
    open_deal(mgr_a, customer=deal.customer, at=timezone.now() + timedelta(seconds=1))
    assert kinds_on(mgr_a, retry, "retry_reached") == []


def test_an_unpaid_invoice_stays_overdue_after_the_deal_moved_on(mgr_a):
    # Issue 11, item 8: at any stage after Payment while money is due (half paid on the way)
    deal = advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a)
    assert deal_rules.deal_money(deal).due > 0
    later = deal.invoice_expires + timedelta(days=1)
    assert kinds_on(mgr_a, later, "invoice_expired") == [deal.pk]
    deal = advance(deal, Stage.CLOSING, mgr_a)
    assert kinds_on(mgr_a, later, "invoice_expired") == [deal.pk]
    pay_in_full(deal, mgr_a)
    assert kinds_on(mgr_a, later, "invoice_expired") == []


def test_an_event_passed_is_overdue_at_closing_until_the_deal_is_closed(mgr_a):
    # Issue 11, item 8: at Delivery or Closing
    deal = advance(open_deal(mgr_a), Stage.CLOSING, mgr_a)
    later = deal.event_date + timedelta(days=1)
    assert kinds_on(mgr_a, later, "event_passed") == [deal.pk]
    pay_in_full(deal, mgr_a)
    fill(deal, Stage.CLOSING, mgr_a)
    deal_services.deal_close(deal=deal, actor=mgr_a)
    assert kinds_on(mgr_a, later, "event_passed") == []


#
# Scope, grouping, queries
#


def test_another_managers_points_are_not_listed(mgr_a, mgr_b, dir_1):
    deal = fill(advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a), Stage.DELIVERY, mgr_a)
    later = deal.event_date + timedelta(days=3)
    assert kinds_on(mgr_b, later, "event_passed") == []
    assert kinds_on(dir_1, later, "event_passed") == [deal.pk]
    assert [p.deal_id for p in control_points(user=dir_1, today=later, manager=mgr_b, kinds={"event_passed"})] == []


def test_points_are_grouped_per_manager(mgr_a, admin_user):
    fill(advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a), Stage.DELIVERY, mgr_a)
    points = control_points(user=admin_user, today=TODAY() + timedelta(days=40))
    groups = by_manager(points)
    assert [name for name, _ in groups] == ["mgr_a"]
    assert {p.kind for p in groups[0][1]} == {"event_passed", "invoice_expired"}  # half paid on the way


def test_control_points_take_one_query_whatever_the_number_of_deals(mgr_a):
    made = 0

    def queries_with(count):
        nonlocal made
        for _ in range(count):
            fill(advance(open_deal(mgr_a), Stage.DELIVERY, mgr_a), Stage.DELIVERY, mgr_a)
        made += count
        mgr = type(mgr_a).objects.get(pk=mgr_a.pk)  # a fresh user, as in a new request
        with CaptureQueriesContext(connection) as queries:
            found = control_points(user=mgr, today=TODAY() + timedelta(days=40))
        assert len(found) == 2 * made  # event passed and the half-paid invoice, per deal
        return len(queries)

    # one union of all kinds, and one for the user (role and permissions, crm_project.auth_backend)
    assert queries_with(1) == queries_with(5) == 1 + 1


def test_the_first_n_points_are_the_first_n_of_all_whatever_the_limit(mgr_a, mgr_b, dir_1):
    """Each kind is ordered and cut at the limit before the union (PostgreSQL): the list
    must still be the first `limit` of every point, ties on the date broken by kind then deal."""
    for manager, stage, days in [(mgr_a, Stage.DELIVERY, 3), (mgr_b, Stage.OFFER, 0), (mgr_a, Stage.CLOSING, 1)]:
        deal = advance(open_deal(manager), stage, manager)
        if stage == Stage.OFFER:
            expires = TODAY() + timedelta(days=days)
            changes = {"offer_sent": TODAY(), "offer_expires": expires}
            deal_services.deal_update(deal=deal, changes=changes, actor=manager)
    won_deal(mgr_b)
    later = TODAY() + timedelta(days=60)
    for user in (mgr_a, mgr_b, dir_1):
        every = control_points(user=user, today=later)
        assert len({p.kind for p in every}) >= 2
        assert [(p.due, p.kind, p.deal_id) for p in every] == sorted((p.due, p.kind, p.deal_id) for p in every)
        for limit in range(1, len(every) + 1):
            assert control_points(user=user, today=later, limit=limit) == every[:limit]
