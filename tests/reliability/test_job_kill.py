"""JOB-02: a real Celery worker (its own process, on a Redis of our own, against the test
PostgreSQL database) is SIGKILLed in the middle of the nightly recompute, after it wrote
the new snapshot rows but before it committed them. The database then still holds the
previous snapshot of that date (all-or-nothing), the run says "running" until the next
run marks it, and the rerun gives exactly the classes of an uninterrupted run (sha256 of
the sorted pairs). CI seeds 60 customers; JOB_KILL_CUSTOMERS=N runs the full form
(bench/README.md)."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from crm_project.celery import app
from crm_project.dates import business_today
from segmentation.models import ClassInterval, CustomerSnapshot, RecomputeRun
from segmentation.services import segments_recompute
from tests.conftest import require
from tests.factories import CustomerFactory, SettlementLineFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def classes_digest(as_of) -> str:
    rows = CustomerSnapshot.objects.filter(as_of=as_of).order_by("customer_id")
    pairs = rows.values_list("customer_id", "abc", "xyz", "status")
    return hashlib.sha256(repr(list(pairs)).encode()).hexdigest()


def seed(customers: int):
    today = business_today()
    for index in range(customers):
        customer = CustomerFactory()
        for month in range(index % 7):
            SettlementLineFactory(customer=customer, date=today - timedelta(days=30 * month + 1),
                                  amount=Decimal(100 + 37 * index))  # fmt: skip


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_a_worker_killed_mid_recompute_leaves_the_old_snapshot_and_the_rerun_matches(own_redis, tmp_path):
    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the killed worker and the test share a PostgreSQL database")
    seed(int(os.environ.get("JOB_KILL_CUSTOMERS", "60")))
    as_of = business_today()
    segments_recompute(as_of=as_of, triggered_by="reference")
    reference, intervals = classes_digest(as_of), ClassInterval.objects.count()

    pause = tmp_path / "paused"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": own_redis.url, "CRM_PAUSE_FILE": str(pause),
           "DJANGO_SETTINGS_MODULE": "crm_project.settings"}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.reliability.killable_worker", "worker", "--pool=solo",
         "--concurrency=1", "--loglevel=WARNING", "--without-mingle", "--without-gossip"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    saved = app.conf.broker_url
    try:
        app.conf.broker_url = own_redis.url
        app.conf.task_always_eager = False
        app._pool = None
        app.amqp._producer_pool = None
        app.send_task("segmentation.tasks.recompute_segments_task", args=[as_of.isoformat(), "nightly"])
        deadline = time.monotonic() + 90
        while not pause.exists():
            assert worker.poll() is None, "the worker ended before the pause"
            assert time.monotonic() < deadline, "the worker never reached the snapshot write"
            time.sleep(0.2)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
    finally:
        app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None
        if worker.poll() is None:
            worker.kill()

    # the killed run's rows were never committed: the reference snapshot is intact
    assert int(pause.read_text()) > 0
    assert classes_digest(as_of) == reference and ClassInterval.objects.count() == intervals
    assert RecomputeRun.objects.get(as_of=as_of).status == RecomputeRun.Status.RUNNING
    # the advisory lock died with the worker's connection: the rerun starts at once
    run = segments_recompute(as_of=as_of, triggered_by="rerun")
    assert run.status == RecomputeRun.Status.DONE
    assert classes_digest(as_of) == reference and ClassInterval.objects.count() == intervals
