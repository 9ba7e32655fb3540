"""The nightly job as Celery runs it: in-process by default, on a real worker with Redis in CI."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings

from crm_project.celery import app
from segmentation.models import CustomerSnapshot, RecomputeRun
from segmentation.tasks import recompute_segments_task
from tests.conftest import require
from tests.factories import CustomerFactory, SettlementLineFactory

D = date(2026, 3, 31)


def test_the_task_defaults_to_today_in_the_business_time_zone(db, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    from django.utils import timezone

    result = recompute_segments_task.delay().get()
    assert result.endswith(f"as of {timezone.localdate()}")


def test_the_beat_schedule_runs_the_task_that_exists(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["segmentation-recompute-nightly"]
    assert entry["task"] in app.tasks


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_runs_on_a_real_worker_with_redis():
    if not settings.REDIS_URL:
        require("CRM_REQUIRE_SERVICES", "REDIS_URL is not set")
    from celery.contrib.testing.worker import start_worker

    customer = CustomerFactory()
    SettlementLineFactory(customer=customer, date=D - timedelta(days=3), amount=Decimal("12.5"))
    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        message = recompute_segments_task.delay(D.isoformat(), triggered_by="ci").get(timeout=60)
    assert message == f"1 customers classified as of {D}"
    assert RecomputeRun.objects.get(as_of=D).status == "done"
    assert CustomerSnapshot.objects.get(as_of=D, customer=customer).status == "new"
