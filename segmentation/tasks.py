import logging
from datetime import date

from celery import shared_task
from django.db import OperationalError

from crm_project.dates import business_today

from . import services

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OperationalError,), retry_backoff=60, retry_jitter=True, max_retries=3)
def recompute_segments_task(as_of: str | None = None, triggered_by: str = "nightly") -> str:
    """The nightly classification (beat, 02:00 business time) and the 'Recompute' button.
    `as_of` is an ISO date; by default today in the business time zone, and then the full
    snapshots outside the retention window are pruned after the run."""
    day = date.fromisoformat(as_of) if as_of else business_today()
    try:
        run = services.segments_recompute(as_of=day, triggered_by=triggered_by)
    except services.FutureDate as error:
        # Not retried: the date stays in the future until it is not, and then it is another night.
        logger.warning("Recompute refused: %s", error)
        return f"refused: {error}"
    except services.LockHeld:
        logger.info("Recompute as of %s skipped: another run holds the lock", day)
        return f"skipped: lock held ({day})"
    if as_of is None:  # the nightly run: the retention step (idempotent, so a missed night is caught up)
        try:
            services.snapshots_prune(today=day)
        except services.LockHeld:
            logger.info("Snapshot retention skipped: a recompute holds the lock")
    return f"{run.customers} customers classified as of {day}"
