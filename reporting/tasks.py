"""Reporting's background jobs: each takes ids (or nothing) and calls one service."""

import logging

from celery import shared_task
from django.db import OperationalError

from crm_project.locks import LockHeld, exclusive

from . import services

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def fill_kpi_presets_task() -> str:
    """Nightly (beat, 03:00, after the classification): the preset periods' KPI rows."""
    filled = services.kpi_presets_fill()
    return f"{len(filled)} periods filled"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def weekly_kpi_email_task() -> str:
    """Monday 07:00 (beat): last week's KPI summary to every director."""
    return f"{services.weekly_summary_send()} e-mails sent"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def fill_stale_kpis_task() -> str:
    """After a ledger write commits: refill the periods it left stale. One run at a time;
    the running one takes what later writes mark (services.kpi_stale_fill)."""
    try:
        with exclusive("reporting.fill_stale_kpis"):
            filled = services.kpi_stale_fill()
    except LockHeld:
        return "another fill is running"
    return f"{len(filled)} periods refilled"
