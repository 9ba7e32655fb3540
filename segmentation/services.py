"""Write side of segmentation: the recompute that stores one snapshot per customer.

Pipeline (style R9): selectors.ledger_aggregates (one SQL GROUP BY over the ledger's
day table) -> classification.classify (pure pandas) -> snapshot_replace (one transaction).
"""

import logging
from datetime import date

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.copy import copy_frame
from crm_project.dates import business_today, months_before
from crm_project.locks import LockHeld, exclusive
from crm_project.money import decimal_text
from sales_pipeline import selectors as ledger
from sales_pipeline.models import MONEY_PLACES

from . import selectors
from .classification import OUTPUT_COLUMNS, classify
from .models import ClassificationSettings, CustomerSnapshot, RecomputeRun

logger = logging.getLogger(__name__)
# The commands and the task catch LockHeld from here: the recompute raises it.
__all__ = ["FutureDate", "LockHeld", "exclusive", "future_date_refuse", "segments_recompute", "snapshot_replace"]

LOCK_NAME = "segmentation.recompute"
# A snapshot row: the date, the customer, then what classify computes.
SNAPSHOT_COLUMNS = ["as_of", "customer_id", *OUTPUT_COLUMNS]


class FutureDate(ValueError):
    """The as-of date is after the business today: the ledger of that day is not complete,
    and a snapshot dated in the future would pass for the current classes."""

    def __init__(self, as_of: date, today: date):
        self.as_of, self.today = as_of, today
        super().__init__(
            _("Classes can be computed up to today (%(today)s), not for %(as_of)s.") % {"today": today, "as_of": as_of}
        )


def future_date_refuse(as_of: date) -> None:
    """Raise FutureDate when `as_of` is after the business today."""
    today = business_today()
    if as_of > today:
        raise FutureDate(as_of, today)


def _snapshot_frame(classes: pd.DataFrame, as_of: date) -> pd.DataFrame:
    frame = classes.reset_index()
    frame["as_of"] = as_of
    for column in ("value", "monetary"):
        frame[column] = decimal_text(frame[column], MONEY_PLACES)
    for column in ("abc", "xyz", "rfm_segment"):
        frame[column] = frame[column].fillna("")
    return frame[SNAPSHOT_COLUMNS]


def _insert_snapshots(frame: pd.DataFrame) -> None:
    """Bulk insert; COPY on PostgreSQL."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_frame(cursor, CustomerSnapshot._meta.db_table, frame)
        return
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    CustomerSnapshot.objects.bulk_create((CustomerSnapshot(**row) for row in rows), batch_size=2000)


def snapshot_replace(*, as_of: date, classes: pd.DataFrame) -> int:
    """Replace the snapshot of `as_of` with `classes` in one transaction: a failure
    anywhere leaves the previous snapshot of that date exactly as it was."""
    frame = _snapshot_frame(classes, as_of)
    with transaction.atomic():
        CustomerSnapshot.objects.filter(as_of=as_of).delete()
        _insert_snapshots(frame)
    return len(frame)


def _count_class_changes(as_of: date) -> int:
    previous = CustomerSnapshot.objects.filter(as_of__lt=as_of).order_by("-as_of").values_list("as_of", flat=True)
    before = previous.first()
    if before is None:
        return 0
    sql = f"""
        SELECT COUNT(*) FROM {CustomerSnapshot._meta.db_table} AS now
        JOIN {CustomerSnapshot._meta.db_table} AS old
          ON old.customer_id = now.customer_id AND old.as_of = %s
        WHERE now.as_of = %s AND (now.abc <> old.abc OR now.xyz <> old.xyz OR now.status <> old.status)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [before, as_of])
        return cursor.fetchone()[0]


def _lines_without_cost(as_of: date, params) -> int | None:
    """With ABC on margin, the window's lines without a cost (their margin is their whole
    amount, so the classes lean on them); None on the revenue basis, where cost is unused."""
    if params.abc_basis != ClassificationSettings.Basis.MARGIN:
        return None
    return ledger.lines_without_cost(after=months_before(as_of, params.window_months), up_to=as_of)


def _step(run: RecomputeRun, step: str) -> None:
    # Saved at once, outside the snapshot transaction, so the browser sees progress.
    run.step = step
    run.save(update_fields=["step"])


ABANDONED = "Stopped before it finished (its worker ended); that date's snapshot was left as it was. Run it again."


def segments_recompute(*, as_of: date, triggered_by: str = "system") -> RecomputeRun:
    """Classify every customer as of `as_of` and store the snapshot for that date.

    Idempotent (a rerun replaces the same date's rows with identical ones), guarded by
    `exclusive` (raises LockHeld when another run holds it) and all-or-nothing (see
    snapshot_replace). Records a RecomputeRun: step, counts, status, error. Called by
    the nightly task, the recompute_segments command and the 'Recompute' button.
    Raises FutureDate, before anything is written, for a date after the business today."""
    future_date_refuse(as_of)
    with exclusive(LOCK_NAME):
        # Holding the lock, no other run can be going: one still marked running was
        # stopped by force (a killed worker) and would say 'running' for ever.
        RecomputeRun.objects.filter(status=RecomputeRun.Status.RUNNING).exclude(as_of=as_of).update(
            status=RecomputeRun.Status.FAILED, finished_at=timezone.now(), error=ABANDONED
        )
        run, _ = RecomputeRun.objects.update_or_create(
            as_of=as_of,
            defaults={
                "status": RecomputeRun.Status.RUNNING,
                "started_at": timezone.now(),
                "finished_at": None,
                "error": "",
                "step": "starting",
                "triggered_by": triggered_by[:100],
            },
        )
        try:
            params = ClassificationSettings.current().as_params()
            _step(run, "1/3 summing the ledger")
            frame = selectors.ledger_aggregates(as_of=as_of, params=params)
            potential = selectors.customers_without_lines(as_of=as_of, having_lines=frame["customer_id"])
            _step(run, "2/3 classifying")
            classes = classify(frame, as_of=as_of, params=params, potential_ids=potential)
            _step(run, "3/3 saving the snapshot")
            run.customers = snapshot_replace(as_of=as_of, classes=classes)
            run.lines = int(frame["lines_total"].sum()) if len(frame) else 0
            run.class_changes = _count_class_changes(as_of)
            run.lines_without_cost = _lines_without_cost(as_of, params)
        except Exception as error:
            run.status, run.error, run.finished_at = RecomputeRun.Status.FAILED, repr(error)[:2000], timezone.now()
            run.save()
            logger.exception("Recompute as of %s failed (run %s)", as_of, run.pk)
            raise
        run.status, run.step, run.finished_at = RecomputeRun.Status.DONE, "done", timezone.now()
        run.save()
        logger.info("Recomputed %d customers as of %s in %.1f s", run.customers, as_of, run.seconds)
        return run
