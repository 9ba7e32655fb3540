"""JOB-05: the nightly recompute retries a transient database error (OperationalError)
with a backoff and jitter, at most three times (Celery's own retry machinery, run with
apply() at each retry count, no broker); a permanent error is not retried: the run is
marked failed and logged at ERROR with its id."""

import logging
from datetime import date

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from segmentation import services
from segmentation.models import RecomputeRun
from segmentation.tasks import recompute_segments_task
from tests.factories import CustomerFactory

D = date(2026, 5, 31)


def test_the_task_retries_transient_errors_with_backoff_and_a_bound():
    assert OperationalError in recompute_segments_task.autoretry_for
    assert recompute_segments_task.max_retries == 3
    assert recompute_segments_task.retry_backoff and recompute_segments_task.retry_jitter


def _down(**kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_a_transient_error_is_retried_while_retries_are_left(retries, db, monkeypatch):
    monkeypatch.setattr(services, "segments_recompute", _down)
    # run eagerly, the retry surfaces as Celery's Retry with the countdown it would queue
    with pytest.raises(Retry) as raised:
        recompute_segments_task.apply(args=[D.isoformat()], retries=retries)
    # backoff: up to 60 s x 2^retries, jittered (Celery draws the countdown from 0 to that)
    assert 0 <= raised.value.when <= 60 * 2**retries
    assert isinstance(raised.value.exc, OperationalError)


def test_the_fourth_transient_error_fails_for_good(db, monkeypatch):
    monkeypatch.setattr(services, "segments_recompute", _down)
    with pytest.raises(OperationalError):  # max_retries reached: the error itself, no Retry
        recompute_segments_task.apply(args=[D.isoformat()], retries=3)


def test_a_permanent_error_fails_the_run_and_logs_its_id_at_error(db, monkeypatch, caplog):
    CustomerFactory()

    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(services, "classify", broken)
    with caplog.at_level(logging.ERROR), pytest.raises(ValueError):
        recompute_segments_task.apply(args=[D.isoformat()], throw=True)
    run = RecomputeRun.objects.get(as_of=D)
    assert run.status == RecomputeRun.Status.FAILED and "a bug" in run.error
    assert any(r.levelno == logging.ERROR and f"run {run.pk}" in r.getMessage() for r in caplog.records)
