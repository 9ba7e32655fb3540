"""Celery tasks: each takes ids or dates and calls one service."""

import logging
from datetime import date

from celery import shared_task
from django.db import OperationalError

from crm_project.dates import business_today
from crm_project.locks import LockHeld

from . import campaigns, measure_store, services

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=30, max_retries=3)
def accrue_customer_day_task(customer_id: int, day: str) -> str:
    """Points for a payment just committed: the customer's lines of its day (signal in apps.py)."""
    on = date.fromisoformat(day)
    result = services.points_accrue(start=on, end=on, customer_ids=[customer_id])
    return f"{result.accrued} accrued, {result.reversed} reversed"


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def loyalty_nightly_task(today: str | None = None) -> str:
    """Beat, after the 02:00 recompute: accrual of late lines, expiry, tiers."""
    day = date.fromisoformat(today) if today else business_today()
    result = services.loyalty_nightly(today=day)
    return (
        f"{result.accrued} accrued, {result.reversed} reversed, {result.expired} lots expired, "
        f"{result.tier_changes} tier changes as of {day}"
    )


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, max_retries=5)
def campaign_send_due_task(campaign_id: int | None = None) -> str:
    """Send every due campaign step (beat, hourly); one campaign when `campaign_id` is given.
    A retry sends nothing twice: each message is a row claimed before it is sent."""
    sent = campaigns.campaigns_send_due(campaign_id=campaign_id)
    return f"{sent} messages sent"


# LockHeld: a ledger write or a reassignment not yet committed (an import may take
# minutes); backing off from 30 s to 10 minutes, eight tries cover half an hour or so.
@shared_task(autoretry_for=(OperationalError, LockHeld), retry_backoff=30, retry_jitter=True, max_retries=8)
def fill_measures_task(today: str | None = None) -> str:
    """Beat, after the recompute; and queued once a ledger write or a reassignment commits:
    the measures page's dates stored per manager where missing or stale."""
    day = date.fromisoformat(today) if today else business_today()
    filled = measure_store.measures_fill(today=day)
    return f"{filled} loyalty measure dates filled as of {day}"
