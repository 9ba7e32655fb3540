"""The nightly job: the surveys due, created set-based, e-mailed or left for a call."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints import services, tasks
from complaints.models import Survey, SurveySettings
from customers.models import Contact
from sales_pipeline.models import Deal, DealLine
from tests.factories import CustomerFactory, ProductFactory, SettlementLineFactory

TODAY = date(2026, 12, 2)


def _bought(customer, product, day):
    SettlementLineFactory(customer=customer, product=product, date=day, amount=100)


@pytest.fixture
def world(mgr_a, product, questionnaire):
    SurveySettings.objects.create(min_interval_days=90, yearly_days=365, link_valid_days=30)
    new = CustomerFactory(name="New Buyer", manager=mgr_a)
    _bought(new, product, TODAY - timedelta(days=10))
    recent = CustomerFactory(name="Recently Asked", manager=mgr_a)
    _bought(recent, product, TODAY - timedelta(days=10))
    Survey.objects.create(customer=recent, product=product, questionnaire=questionnaire, channel="call",
                          created_at=timezone.now() - timedelta(days=30))
    yearly = CustomerFactory(name="Yearly One", manager=mgr_a, email="")
    _bought(yearly, product, TODAY - timedelta(days=800))
    _bought(yearly, product, TODAY - timedelta(days=40))
    Survey.objects.create(customer=yearly, product=product, questionnaire=questionnaire, channel="call",
                          created_at=timezone.now() - timedelta(days=400))
    sleeping = CustomerFactory(name="Sleeping", manager=mgr_a)
    _bought(sleeping, product, TODAY - timedelta(days=700))
    dealer = CustomerFactory(name="Deal Closer", manager=mgr_a)
    Contact.objects.create(customer=dealer, name="Dee", email="dee@closer.example", is_primary=True)
    deal = Deal.objects.create(customer=dealer, manager=mgr_a, title="Film", sale_type="long_push", status="won",
                               survey_date=TODAY - timedelta(days=1), closed_at=timezone.now() - timedelta(days=20))
    DealLine.objects.create(deal=deal, product=product, price=10)
    return {"new": new, "yearly": yearly, "dealer": dealer, "deal": deal}


def test_the_job_creates_the_due_surveys_once(world, product):
    result = services.surveys_schedule_due(today=TODAY, base_url="https://crm.example")
    assert result == {"created": 3, "emailed": 2, "calls": 1, "retrying": 0, "failed": 0}
    made = {s.customer.name: (s.reason, s.channel, s.deal_id) for s in Survey.objects.filter(
        created_at__date=timezone.localdate()).select_related("customer")}
    assert made == {
        "New Buyer": ("new_product", "email", None),
        "Yearly One": ("yearly", "call", None),  # no e-mail address: the manager calls
        "Deal Closer": ("deal_closed", "email", world["deal"].pk),
    }
    assert sorted(m.to[0] for m in mail.outbox) == ["dee@closer.example", world["new"].email]
    assert all("https://crm.example/s/" in m.body for m in mail.outbox)
    world["deal"].refresh_from_db()
    assert world["deal"].survey_sent == TODAY  # the deal's "survey not sent" control point clears
    # the next night: the minimum interval holds everyone back
    assert services.surveys_schedule_due(today=TODAY + timedelta(days=1))["created"] == 0


def test_the_task_calls_the_service(world):
    assert tasks.schedule_surveys_task.delay().get().startswith("surveys scheduled: ")


def _queries(today):
    with CaptureQueriesContext(connection) as queries:
        services.surveys_schedule_due(today=today)
    return len(queries)


# Each e-mail is claimed, then marked sent with its deal's date in one transaction (a
# savepoint in the test's transaction): committed one by one so a failure midway loses
# nothing (tests/complaints/test_survey_mail.py). Everything else is set-based.
QUERIES_PER_EMAIL = 4


def test_the_job_costs_the_same_queries_for_2_or_8_customers_but_for_a_fixed_cost_per_email(
    mgr_a, product, questionnaire, line
):
    def buyers(count):
        for _ in range(count):
            _bought(CustomerFactory(manager=mgr_a), product, TODAY - timedelta(days=5))

    buyers(2)
    small = _queries(TODAY)
    assert Survey.objects.count() == 2
    other = ProductFactory(sku="CO-020", line=line)
    for _ in range(8):
        _bought(CustomerFactory(manager=mgr_a), other, TODAY - timedelta(days=5))
    assert _queries(TODAY) - 8 * QUERIES_PER_EMAIL == small - 2 * QUERIES_PER_EMAIL
    assert Survey.objects.count() == 10
