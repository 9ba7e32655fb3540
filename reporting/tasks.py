"""Reporting's background jobs: each takes ids (or nothing) and calls one service."""

import logging

from celery import shared_task
from django.db import OperationalError

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
