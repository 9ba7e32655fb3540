"""The loyalty jobs as Celery runs them, and their place in the beat schedule."""

from datetime import date
from decimal import Decimal

import pytest
from celery.schedules import crontab

from crm_project.celery import app
from loyalty import services
from loyalty.tasks import loyalty_nightly_task
from tests.factories import SettlementLineFactory

from .helpers import points_program

pytestmark = pytest.mark.django_db


def test_the_beat_runs_the_loyalty_jobs_after_the_recompute(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    for name in ("loyalty-nightly", "loyalty-campaigns"):
        assert schedule[name]["task"] in app.tasks
    recompute, nightly = schedule["segmentation-recompute-nightly"]["schedule"], schedule["loyalty-nightly"]["schedule"]
    assert isinstance(nightly, crontab) and min(nightly.hour) > min(recompute.hour)


def test_the_nightly_task_accrues_the_last_weeks_lines_expires_and_reports(cust_a):
    card = services.card_issue(program=points_program(expiry_days=5), holder=cust_a, issued_on=date(2026, 1, 1))
    SettlementLineFactory(customer=cust_a, date=date(2026, 3, 3), amount=Decimal("900"))  # before the 7 days
    SettlementLineFactory(customer=cust_a, date=date(2026, 3, 4), amount=Decimal("500"))  # 50, expires 9 Mar
    SettlementLineFactory(customer=cust_a, date=date(2026, 3, 9), amount=Decimal("200"))  # 20, expires 14 Mar
    message = loyalty_nightly_task.delay("2026-03-11").get()
    assert message == "2 accrued, 0 reversed, 1 lots expired, 0 tier changes as of 2026-03-11"
    card.refresh_from_db()
    assert card.balance == 20
    assert loyalty_nightly_task.delay("2026-03-11").get().startswith("0 accrued, 0 reversed, 0 lots expired")
