"""Write side of segmentation: the recompute that stores one snapshot per customer, and
the retention of those snapshots.

Pipeline (style R9): selectors.ledger_aggregates (one SQL GROUP BY over the ledger's
day table) -> classification.classify (pure pandas) -> snapshot_replace (one transaction:
the date's full snapshot and its classes folded into the intervals, class_history).
snapshots_prune (the nightly job, after the recompute) deletes the full snapshots outside
the window that are not month ends; the intervals keep their classes.
"""

import logging
from datetime import date, timedelta

import pandas as pd
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.copy import copy_frame
from crm_project.dates import business_today, months_before
from crm_project.locks import LockHeld, exclusive
from crm_project.money import decimal_text
from sales_pipeline import selectors as ledger
from sales_pipeline.models import MONEY_PLACES

from . import selectors
from .class_history import analyze, class_changes_count, class_history_write
from .classification import OUTPUT_COLUMNS, classify
from .contact_due import contact_due_fill
from .models import RUN_ABANDONED, ClassificationSettings, CustomerSnapshot, RecomputeRun

logger = logging.getLogger(__name__)
# The commands and the task catch LockHeld from here: the recompute raises it.
__all__ = [
    "FutureDate", "LockHeld", "exclusive", "future_date_refuse", "segments_recompute", "snapshot_replace",
    "snapshots_prune",
]  # fmt: skip

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
    """Replace the snapshot of `as_of` with `classes` and fold its classes into the
    intervals, in one transaction: a failure anywhere leaves the previous snapshot and
    history of that date exactly as they were."""
    frame = _snapshot_frame(classes, as_of)
    # Any run's date bounds the new classes, even a failed one's: a boundary too many
    # only splits an interval, one too few would overwrite a date's classes.
    next_run = RecomputeRun.objects.filter(as_of__gt=as_of).order_by("as_of").values_list("as_of", flat=True).first()
    with transaction.atomic():
        CustomerSnapshot.objects.filter(as_of=as_of).delete()
        _insert_snapshots(frame)
        # The new date's rows are not in the planner's statistics until analysed (autovacuum
        # comes later, if at all): the class changes page, planned as if the date held one
        # row, compared each of its rows with every changed customer's id, 3.5 s instead of
        # 77 ms at 50,000 customers (EXPLAIN ANALYZE).
        with connection.cursor() as cursor:
            analyze(cursor, connection.ops.quote_name(CustomerSnapshot._meta.db_table))
        class_history_write(as_of=as_of, next_computed=next_run)
    return len(frame)


# Full snapshots (every figure) are kept this many days back from the business today;
# before that, only each month's last computed date. The classes of every computed date
# stay in the intervals (class_history).
SNAPSHOT_WINDOW_DAYS = 42


def snapshots_prune(*, today: date, window_days: int = SNAPSHOT_WINDOW_DAYS) -> int:
    """Delete the full snapshots of computed dates (a run done) older than the window
    that are not the last computed date of their month; returns how many rows went.
    Idempotent; holds the recompute's lock (raises LockHeld while a recompute runs).
    Dates without a finished run are never pruned: their classes may not be in the
    intervals. Called by the nightly task and the prune_snapshots command."""
    done = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE)
    month_ends = done.annotate(month=TruncMonth("as_of")).values("month").annotate(last=Max("as_of")).values("last")
    with exclusive(LOCK_NAME), transaction.atomic():
        deleted, _ = (
            CustomerSnapshot.objects.filter(as_of__lt=today - timedelta(days=window_days))
            .filter(as_of__in=done.values("as_of"))
            .exclude(as_of__in=month_ends)
            .delete()
        )
    if deleted:
        logger.info("Pruned %d snapshot rows older than %d days (month ends kept)", deleted, window_days)
    return deleted


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


ABANDONED = RUN_ABANDONED


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
                "contact_due_filled": False,  # until this run's classes are in ContactDue
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
            with transaction.atomic():  # the snapshot, its history and 'done' together
                run.customers = snapshot_replace(as_of=as_of, classes=classes)
                run.lines = int(frame["lines_total"].sum()) if len(frame) else 0
                run.class_changes = class_changes_count(as_of=as_of)
                run.lines_without_cost = _lines_without_cost(as_of, params)
                run.status, run.step, run.finished_at = RecomputeRun.Status.DONE, "done", timezone.now()
                run.save()
                if CustomerSnapshot.objects.latest_date() == as_of:  # the current classes changed
                    contact_due_fill(as_of=as_of)
        except Exception as error:
            run.status, run.error, run.finished_at = RecomputeRun.Status.FAILED, repr(error)[:2000], timezone.now()
            run.save()
            logger.exception("Recompute as of %s failed (run %s)", as_of, run.pk)
            raise
        logger.info("Recomputed %d customers as of %s in %.1f s", run.customers, as_of, run.seconds)
        return run
