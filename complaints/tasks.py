"""Background work of the complaints app."""

import logging

from celery import shared_task

from crm_project.locks import LockHeld, exclusive

from . import services

logger = logging.getLogger(__name__)


@shared_task
def schedule_surveys_task() -> str:
    """Nightly: create (and e-mail) the surveys due today. Running it twice the same day
    creates nothing the second time (the minimum interval); two runs at once: one runs."""
    try:
        with exclusive("complaints.schedule_surveys"):
            result = services.surveys_schedule_due()
    except LockHeld:
        logger.info("Survey scheduling skipped: another run holds the lock")
        return "skipped: another run is scheduling surveys"
    summary = f"surveys scheduled: {result['created']} ({result['emailed']} e-mailed, {result['calls']} to call)"
    logger.info(summary)
    return summary
