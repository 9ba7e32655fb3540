"""Background work of the sales pipeline app."""

import logging

from celery import shared_task
from django.utils import translation
from django.utils.translation import gettext

from .models import SettlementImport
from .services import imports as services

logger = logging.getLogger(__name__)


@shared_task
def import_settlements_task(run_id: int, language: str | None = None) -> str:
    """Run the settlement import queued by services.settlement_import_start as the user
    who uploaded the file, its messages in `language` (the uploader's, as the upload view
    saw it; None: the site's). A redelivered message for a finished run does nothing."""
    if language:
        with translation.override(language):
            return _import_settlements(run_id)
    return _import_settlements(run_id)


def _import_settlements(run_id: int) -> str:
    run = SettlementImport.objects.select_related("created_by").get(pk=run_id)
    if run.status in (SettlementImport.Status.DONE, SettlementImport.Status.FAILED):
        return f"settlement import {run.pk} already {run.status}"
    if run.created_by is None:
        # Without its user the run would have the system's full scope: refuse instead.
        run.status, run.finished_at = SettlementImport.Status.FAILED, run.created_at
        message = gettext("The user who uploaded this file no longer exists.")
        run.errors = [{"line": None, "column": None, "message": message}]
        run.save(update_fields=["status", "finished_at", "errors"])
        return f"settlement import {run.pk} failed: no user"
    run = services.settlement_import_run(run=run, path=run.file.path, user=run.created_by)
    if run.status in (SettlementImport.Status.DONE, SettlementImport.Status.FAILED) and run.file:
        # The run keeps its counts and errors; the upload (55 MB a million lines) is not needed.
        run.file.delete(save=False)
        run.save(update_fields=["file"])
    summary = (
        f"settlement import {run.pk} {run.status}: {run.lines_created} lines created, "
        f"{run.lines_skipped} skipped, {len(run.errors)} errors"
    )
    logger.info(summary)
    return summary
