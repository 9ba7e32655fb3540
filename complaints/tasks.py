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
    summary = (
        f"surveys scheduled: {result['created']} ({result['calls']} to call); e-mails sent {result['emailed']}, "
        f"to retry {result['retrying']}, failed {result['failed']}"
    )
    logger.info(summary)
    return summary


@shared_task
def send_survey_emails_task() -> str:
    """Every quarter of an hour: send the survey e-mails that wait (retries now due, or a
    survey started by hand whose sending was cut short). Safe to run alongside the nightly
    job or itself: each e-mail is claimed before it is sent."""
    result = services.surveys_send_waiting()
    summary = f"survey e-mails sent {result['sent']}, to retry {result['retrying']}, failed {result['failed']}"
    logger.info(summary)
    return summary
