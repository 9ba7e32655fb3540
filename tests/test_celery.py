"""Tasks run in-process without Redis, and on a real worker against Redis in CI."""

import os

import pytest

from crm_project.celery import app, health_check_task


def test_without_a_broker_tasks_run_in_process(mgr_a):
    assert health_check_task.delay().get(timeout=5).startswith("ok: ")


def test_the_nightly_schedule_is_data_in_settings(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["segmentation-recompute-nightly"]
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {0}
    assert entry["options"]["expires"] < 24 * 60 * 60


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_a_task_against_the_database(mgr_a):
    from django.conf import settings

    from tests.conftest import require

    if not settings.REDIS_URL:
        require("CRM_REQUIRE_SERVICES", "REDIS_URL is not set")
    from celery.contrib.testing.worker import start_worker

    app.conf.task_always_eager = False
    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        result = health_check_task.delay()
        assert result.get(timeout=30) == "ok: 1 users"
    assert os.environ.get("REDIS_URL") == settings.REDIS_URL
