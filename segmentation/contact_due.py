"""ContactDue, the rows the control point "contact interval exceeded" reads (models.ContactDue).

The nightly recompute fills them from the current snapshot (each classed customer's ABC
class and `since`, the last interaction or else the creation time) and marks its run;
from then on the database's triggers (migration 0005) keep `since` in the statement that
logs, imports, moves or deletes an interaction or changes a creation time. The rows are
read only while the marked run is the current one (contact_interval.py); otherwise the
page computes the same list from the snapshot itself, so a stale fill is never shown.
"""

from __future__ import annotations

from datetime import date

from django.db import connection, transaction

from .models import RecomputeRun

DUE = "segmentation_contactdue"

# The classed customers of the snapshot of %(as_of)s, with their last contact.
FILL_SQL = f"""
INSERT INTO {DUE} (customer_id, abc, since)
SELECT s.customer_id, s.abc, COALESCE(l.occurred_at, c.created_at)
FROM segmentation_customersnapshot AS s
JOIN customers_customer AS c ON c.id = s.customer_id
LEFT JOIN customers_lastinteraction AS l ON l.customer_id = s.customer_id
WHERE s.as_of = %s AND s.abc <> ''
"""


def fill_rows(cursor, *, vendor: str, as_of: date) -> None:
    """Replace every row with the classes of the snapshot of `as_of` (plain SQL: the
    migration calls it too). On PostgreSQL the last interactions are share-locked for
    the moment of the fill, so that an interaction logged meanwhile cannot update a row
    this statement is about to replace with an older time."""
    if vendor == "postgresql":
        cursor.execute("LOCK TABLE customers_lastinteraction IN SHARE MODE")
    cursor.execute(f"DELETE FROM {DUE}")
    cursor.execute(FILL_SQL, [as_of])


def contact_due_fill(*, as_of: date) -> None:
    """Fill ContactDue from the snapshot of `as_of` and mark that run as the one it
    holds (no other run stays marked). Called by segments_recompute when its date is the
    current one, in the transaction that marks the run done, and by fill_contact_due."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            fill_rows(cursor, vendor=connection.vendor, as_of=as_of)
        RecomputeRun.objects.filter(contact_due_filled=True).exclude(as_of=as_of).update(contact_due_filled=False)
        RecomputeRun.objects.filter(as_of=as_of).update(contact_due_filled=True)
