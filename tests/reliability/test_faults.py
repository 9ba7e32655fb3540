"""RES-01 and RES-02 on servers of our own (tests/reliability/services.py): Redis stopped
and restarted under the running app, PostgreSQL restarted under a running gunicorn."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm_project.queue import TRY_AGAIN
from segmentation.models import RecomputeRun
from tests.reliability.services import free_port, wait_for_port

# Pages that read only the database: they must not notice Redis is gone.
PAGES = ["home", "customers:customer_list", "sales_pipeline:deal_list", "segmentation:run_list", "health"]


@pytest.fixture
def app_on_own_redis(own_redis, settings):
    """The running app's cache and Celery broker pointed at our own Redis."""
    from crm_project.celery import app

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = app.conf.broker_url
    app.conf.broker_url = own_redis.url
    app.conf.task_always_eager = False
    app._pool = None  # drop connections made to the previous broker
    app.amqp._producer_pool = None
    yield own_redis
    app.conf.broker_url = saved
    app._pool = None
    app.amqp._producer_pool = None


def queued(server) -> int:
    return redis.Redis.from_url(server.url).llen("celery")


def start_recompute(client, day="2026-01-15"):
    response = client.post(reverse("segmentation:run_start"), {"as_of": day})
    return response, [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db(transaction=True)
def test_redis_down_pages_work_actions_say_try_again_and_queued_work_resumes(
    app_on_own_redis, admin_user, client_for, tmp_path
):
    server = app_on_own_redis
    client = client_for(admin_user)
    server.stop()
    # pages keep working
    for name in PAGES:
        assert client.get(reverse(name), follow=True).status_code == 200, name
    # an action that enqueues says "try again", in time, and leaves nothing behind
    began = time.monotonic()
    response, messages = start_recompute(client)
    assert response.status_code == 302 and str(TRY_AGAIN) in messages
    assert time.monotonic() - began < 10
    upload = SimpleUploadedFile("lines.csv", b"customer,date,product,amount\nC1,2026-01-02,P1,10\n", "text/csv")
    page = client.post(reverse("sales_pipeline:settlement_import"), {"file": upload})
    assert page.status_code == 200 and str(TRY_AGAIN) in page.content.decode()
    from sales_pipeline.models import SettlementImport

    assert SettlementImport.objects.count() == 0
    assert not list((Path(settings.MEDIA_ROOT)).glob("**/lines*.csv"))
    # Redis back: the same action queues; the queue survives another restart (AOF)
    server.start()
    response, messages = start_recompute(client)
    assert str(TRY_AGAIN) not in messages and queued(server) == 1
    server.stop()
    server.start()
    assert queued(server) == 1
    # and a worker then runs it
    from celery.contrib.testing.worker import start_worker

    from crm_project.celery import app

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not RecomputeRun.objects.filter(status="done").exists():
            time.sleep(0.2)
    assert RecomputeRun.objects.get().status == RecomputeRun.Status.DONE
    assert queued(server) == 0


GUNICORN_TIMEOUT = 30


def probe(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_postgresql_restarted_under_gunicorn_the_app_recovers_by_itself(own_postgres):
    # RES-02: a gunicorn worker keeps its connection (CONN_MAX_AGE); after the server
    # restarts, CONN_HEALTH_CHECKS replaces the dead connection on the next request.
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": own_postgres.url(),
        "DJANGO_SETTINGS_MODULE": "crm_project.settings",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "crm_project.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1",
         "--timeout", str(GUNICORN_TIMEOUT)],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port, up=True, seconds=60)
        assert probe(port) == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok", "workers": "ok"}})
        backend_pid = own_postgres.sql("SELECT pid FROM pg_stat_activity WHERE datname = 'postgres' "
                                       "AND application_name = '' AND pid <> pg_backend_pid()")
        assert backend_pid, "gunicorn should keep its connection open between requests"
        own_postgres.stop()
        status, body = probe(port)
        assert status == 503 and body["checks"]["database"] == "unavailable"
        own_postgres.start()
        began = time.monotonic()
        assert probe(port)[0] == 200  # the very next request, with the same gunicorn worker
        assert time.monotonic() - began < 30
    finally:
        server.terminate()
        server.wait(30)
