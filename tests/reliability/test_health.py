"""/health/ for the load balancer: no login, no detail, the database decides the status."""

import json

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.urls import reverse

from crm_project import health
from tests.crm_project.test_settings import PRODUCTION, settings_seen_with


@pytest.fixture(autouse=True)
def _forget_the_cached_worker_state():
    # /health/ caches the worker ping for 30 s; each test asks afresh
    cache.delete("health:workers")
    yield
    cache.delete("health:workers")


SECRET_DETAIL = "could not connect to server at 10.9.8.7 user=crm password=hunter2"


@pytest.mark.django_db
def test_health_answers_anonymous_probes_with_ok(client, django_assert_max_num_queries, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(health, "ping_workers", lambda: True)  # a worker answers
    with django_assert_max_num_queries(1):
        response = client.get(reverse("health"))
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "workers": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]
    assert "Set-Cookie" not in response


@pytest.mark.django_db
def test_a_database_failure_is_a_503_without_any_detail(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OperationalError(SECRET_DETAIL)

    monkeypatch.setattr(health.connection, "cursor", broken)
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["database"] == "unavailable"
    assert b"10.9.8.7" not in response.content and b"hunter2" not in response.content
    assert SECRET_DETAIL in caplog.text  # the reason is in the server log


@pytest.mark.django_db
def test_missing_workers_are_reported_but_do_not_fail_the_probe(client, monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(health, "ping_workers", lambda: False)
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert json.loads(response.content)["checks"]["workers"] == "unavailable"


@pytest.mark.django_db
def test_health_takes_no_post(client):
    assert client.post(reverse("health")).status_code == 405


def test_production_lets_the_probe_through_over_plain_http():
    seen = settings_seen_with(PRODUCTION, "s.SECURE_SSL_REDIRECT", "s.SECURE_REDIRECT_EXEMPT")
    assert seen == ["True", "['^health/$']"]
