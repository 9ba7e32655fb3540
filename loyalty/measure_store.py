"""The loyalty measures stored per customer's manager, so that the measures page (and the
dashboard widget's fallback) sums a few rows instead of reading every visible customer's
day rows per request (issue 15). Every figure is a sum over customers, so the rows of any
set of managers add up: selectors.measures_on adds the rows of the managers a user sees
and computes the customers handed over to a manager live (customers.access.counted_scope).

A date's rows are exact while its MeasureFill is fresh and counted with the current
settings. What changes them marks it stale, in the writer's transaction:
- a ledger write dated on or before it (hooks.LEDGER_CHANGED, below);
- a customer's manager or referrer changed, by whatever writes it (profile, import, admin,
  reassignment, a referrer's deletion setting it to NULL): a trigger on the customers table
  (migration 0006).
A stale or missing date is computed live until measures_fill stores it again: nightly after
the recompute (fill_measures_task), and in the background once a ledger write or a
reassignment commits.

The fill and the markers exclude each other (an advisory lock, PostgreSQL): the fill holds
it exclusively from before it reads to its commit, a marker shares it until its own
transaction ends. So a write either committed before the fill read (the fill counts it)
or marks the fill after it committed (the page reads that date live again). The fill
does not wait for the lock: it gives up and its task retries.
"""

import logging
from datetime import date

from django.db import connection, transaction
from django.utils import timezone

from crm_project.dates import business_today
from crm_project.locks import LockHeld, lock_key
from segmentation.models import ClassificationSettings

from . import selectors
from .models import MeasureCount, MeasureFill

logger = logging.getLogger(__name__)

LOCK = "loyalty-measures"
# The same key, written into the customers trigger (migration 0006): they must agree.
LOCK_KEY = lock_key(LOCK)


def _share_lock() -> None:
    """A marker: hold LOCK shared until the transaction ends, waiting for a fill under way
    (a second or two) to commit. SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [LOCK_KEY])


def _take_lock() -> None:
    """The fill: hold LOCK exclusively until the transaction ends, or raise LockHeld at once
    while a marker's transaction is open (an import may take minutes). Never queued: a
    waiting exclusive request would make every payment's marker wait behind it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise LockHeld(LOCK)


@transaction.atomic
def measures_fill(*, today: date | None = None) -> int:
    """Store the per-manager sums of the measures page's dates as of `today` (today and the
    three period ends before it) that are missing, stale or counted with other settings,
    in one pass over the day table for every customer; delete the rows of other dates.
    Called by fill_measures_task: nightly after the recompute, and after the writes that
    mark dates stale. Idempotent. Raises crm_project.locks.LockHeld, having done nothing,
    while a write that marks dates is not yet committed (the task retries). Returns how
    many dates were filled."""
    today = today or business_today()
    _take_lock()
    params = ClassificationSettings.current()
    dates = selectors.period_ends(today, params)
    MeasureFill.objects.exclude(as_of__in=dates).delete()  # their counts go with them
    fresh = selectors.stored_fills(dates=dates, params=params)
    due = [as_of for as_of in dates if as_of not in fresh]
    if not due:
        return 0
    sums = selectors.figure_sums(customers=None, dates=due, params=params, by_manager=True)
    now = timezone.now()
    MeasureFill.objects.filter(as_of__in=due).delete()
    fills = MeasureFill.objects.bulk_create(
        MeasureFill(
            as_of=as_of,
            period_months=params.period_months,
            window_months=params.window_months,
            filled_at=now,
        )
        for as_of in due
    )
    counts = []
    for fill in fills:
        for manager_id, per_date in sums.items():
            figures = dict(zip(selectors.STORED_COLUMNS, per_date[fill.as_of], strict=True))
            if any(figures.values()):  # a manager whose customers add nothing: no row
                counts.append(MeasureCount(fill=fill, manager_id=manager_id, **figures))
    MeasureCount.objects.bulk_create(counts, batch_size=1000)
    logger.info("loyalty measures stored for %s: %d manager rows", ", ".join(map(str, due)), len(counts))
    return len(due)


def measures_mark_stale(*, since: date) -> int:
    """hooks.LEDGER_CHANGED: lines dated `since` or later were written, in the writer's
    transaction; the stored dates on or after it count them, so they are stale (one
    UPDATE), and are filled again once the write commits. Returns the dates marked."""
    _share_lock()
    marked = MeasureFill.objects.filter(as_of__gte=since, stale_since__isnull=True).update(stale_since=timezone.now())
    if marked:
        transaction.on_commit(_fill_soon)
    return marked


def measures_after_reassignment(**_kwargs) -> None:
    """hooks.CUSTOMERS_REASSIGNED: the customers trigger has marked the stored dates stale;
    fill them again once the reassignment commits."""
    transaction.on_commit(_fill_soon)


def _fill_soon() -> None:
    from crm_project.queue import QueueUnavailable, enqueue

    from .tasks import fill_measures_task

    try:
        enqueue(fill_measures_task)
    except QueueUnavailable:
        pass  # the write is committed and the dates marked stale: read live until the nightly fill
