"""Settlements feed product status (domain.md section 3): a purchase means "in use".

A positive settlement line for a product marks that product "in use" for its customer,
dated by the customer's first positive line for the product in the ledger. Called inside
the transaction that wrote the lines (the settlement import, a payment), with the batch's
(customer, product) pairs, so the statuses commit or roll back with the lines.

What happens to each status, decided here:
* "in use": left exactly as it is, date included (never downgraded, never re-dated);
* not offered, offered, contract signed, refused: become "in use" from the first positive
  line's date, and a refusal's reason is cleared: whatever was said, the customer buys it;
* no status yet: one is created, "in use" from that date;
* negative lines (returns, refunds) change nothing.

Set-based, whatever the number of lines or pairs: the batch's pairs go into a temporary
table (a few inserts of many rows), the pairs already "in use" leave it (one DELETE on the
statuses' unique index: a re-import ends here), then one UPDATE ... FROM and one
INSERT ... SELECT, each dating from one grouped pass over the ledger's lines of those
pairs, and the history rows are copied by INSERT ... SELECT (crm_project.history).
(Measured: a VALUES list joined to the ledger per chunk of pairs rescanned the ledger
once per chunk.)

The customers an import creates can hold no status yet: product_usage_mark_new_customers
inserts theirs straight from the file's first days, skipping the general path's probes.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from crm_project.copy import copy_frame
from crm_project.history import history_rows_copy, history_rows_copy_where
from customers.models import CustomerProduct

from .models import SettlementLine

IN_USE = CustomerProduct.Status.IN_USE


BATCH = "product_usage_batch"
FIRST = "product_usage_first"
NEW = "product_usage_new"


def _chunk_size() -> int:
    # Two parameters per pair, and SQLite allows only so many per statement (PostgreSQL COPYs).
    return 300


@transaction.atomic
def product_usage_mark(
    *, pairs: Iterable[tuple[int, int]], user=None, reason: str = "", first_days: pd.DataFrame | None = None
) -> int:
    """Mark each (customer id, product id) of `pairs` that has a positive line in the
    ledger "in use" (see the module's rules). Returns how many statuses changed or were
    created. `user` and `reason` go on their history rows.

    `first_days` (customer_id, product_id, first_day) may give the first positive day of
    some pairs, when the caller knows the ledger holds no other line of them (an import's
    customers without earlier lines): those pairs skip the grouped pass over the ledger,
    which was two thirds of a million-line import's write (bench/README.md)."""
    wanted = sorted({(int(c), int(p)) for c, p in pairs if c is not None and p is not None})
    if not wanted:
        return 0
    known = pd.DataFrame(columns=["customer_id", "product_id", "first_day"]) if first_days is None else first_days
    quote = connection.ops.quote_name
    statuses, ledger = quote(CustomerProduct._meta.db_table), quote(SettlementLine._meta.db_table)
    now = CustomerProduct._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    # The first positive line of each pair left in the batch: given (first_day set), or one
    # grouped pass over the ledger's lines of the other pairs; computed once, read twice.
    first_days_sql = (
        f"SELECT customer_id, product_id, first_day FROM {BATCH} WHERE first_day IS NOT NULL UNION ALL "
        f"SELECT l.customer_id, l.product_id, MIN(l.date) AS first_day FROM {ledger} AS l "
        f"JOIN {BATCH} AS b ON b.customer_id = l.customer_id AND b.product_id = l.product_id "
        "WHERE b.first_day IS NULL AND l.amount > 0 GROUP BY l.customer_id, l.product_id"
    )
    batch = pd.DataFrame(wanted, columns=["customer_id", "product_id"]).merge(
        known[["customer_id", "product_id", "first_day"]], on=["customer_id", "product_id"], how="left"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FIRST}")
        _pairs_table(cursor, BATCH, batch, first_day="NULL")
        cursor.execute(
            f"DELETE FROM {BATCH} WHERE EXISTS (SELECT 1 FROM {statuses} AS s WHERE s.customer_id = "
            f"{BATCH}.customer_id AND s.product_id = {BATCH}.product_id AND s.status = %s)",
            [IN_USE],
        )
        cursor.execute(f"CREATE TEMPORARY TABLE {FIRST} AS {first_days_sql}")
        cursor.execute(
            f"UPDATE {statuses} SET status = %s, refusal_reason = '', updated_at = %s, status_date = f.first_day "
            f"FROM {FIRST} AS f "
            f"WHERE {statuses}.customer_id = f.customer_id AND {statuses}.product_id = f.product_id RETURNING id",
            [IN_USE, now],
        )
        changed = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"INSERT INTO {statuses} (customer_id, product_id, status, status_date, refusal_reason, updated_at) "
            f"SELECT f.customer_id, f.product_id, %s, f.first_day, '', %s FROM {FIRST} AS f "
            f"WHERE NOT EXISTS (SELECT 1 FROM {statuses} AS s "
            "WHERE s.customer_id = f.customer_id AND s.product_id = f.product_id) RETURNING id",
            [IN_USE, now],
        )
        created = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {BATCH}")
        cursor.execute(f"DROP TABLE {FIRST}")
    history_rows_copy(CustomerProduct, changed, history_type="~", user=user, change_reason=reason)
    history_rows_copy(CustomerProduct, created, history_type="+", user=user, change_reason=reason)
    return len(changed) + len(created)


def _pairs_table(cursor, name: str, pairs: pd.DataFrame, *, first_day: str) -> None:
    """(Re)create the temporary table `name` of (customer_id, product_id, first_day) keyed
    by the pair (`first_day`: "NULL" or "NOT NULL") and fill it with `pairs`: COPY on
    PostgreSQL, then ANALYZE (a fresh temporary table has no statistics for the planner);
    multi-row INSERTs elsewhere."""
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {name} (customer_id bigint NOT NULL, product_id bigint NOT NULL, "
        f"first_day date {first_day}, PRIMARY KEY (customer_id, product_id))"
    )
    if connection.vendor == "postgresql":
        copy_frame(cursor, name, pairs)
        cursor.execute(f"ANALYZE {name}")
        return
    size = _chunk_size()
    # object dtype: Python ints and None for missing days, which the driver takes as they are
    rows = list(pairs.astype(object).where(pairs.notna(), None).itertuples(index=False, name=None))
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        cursor.execute(
            f"INSERT INTO {name} (customer_id, product_id, first_day) "
            f"VALUES {', '.join(['(%s, %s, %s)'] * len(chunk))}",
            [value for row in chunk for value in row],
        )


@transaction.atomic
def product_usage_mark_new_customers(*, first_days: pd.DataFrame, user=None, reason: str = "") -> int:
    """Mark "in use" each (customer_id, product_id, first_day) of `first_days`, whose
    customers were created in the caller's transaction (an import's new customers): they
    can hold no status yet, and all their lines are the caller's, so each pair becomes a
    new status dated `first_day`, with its '+' history row, the same rows
    product_usage_mark would write. The statuses and their history rows are two
    INSERT ... SELECT over a batch table (one statement on PostgreSQL), none of the
    general path's probes for statuses to keep or update nor its ids through Python (most
    of a million-line import's product-usage stage, bench/README.md). A status that
    exists nonetheless fails the unique constraint, and the caller's transaction with it.
    Returns how many statuses were created."""
    if first_days.empty:
        return 0
    batch = first_days[["customer_id", "product_id", "first_day"]].astype({"first_day": str})
    batch = batch.sort_values(["customer_id", "product_id"], ignore_index=True)
    quote = connection.ops.quote_name
    statuses = quote(CustomerProduct._meta.db_table)
    now = CustomerProduct._meta.get_field("updated_at").get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        _pairs_table(cursor, NEW, batch, first_day="NOT NULL")
        # In key order: the unique (customer, product) index is appended to, not scattered.
        insert = (
            f"INSERT INTO {statuses} (customer_id, product_id, status, status_date, refusal_reason, updated_at) "
            f"SELECT customer_id, product_id, %s, first_day, '', %s FROM {NEW} ORDER BY customer_id, product_id"
        )
        if connection.vendor != "postgresql":
            cursor.execute(insert, [IN_USE, now])
    if connection.vendor == "postgresql":
        # The history rows from the INSERT's own RETURNING: no join back over the new statuses.
        history_rows_copy_where(
            CustomerProduct, f"WITH created AS ({insert} RETURNING *)", [IN_USE, now],
            source="created", history_type="+", user=user, change_reason=reason,
        )  # fmt: skip
    else:  # SQLite: no INSERT inside WITH; the history joins the batch instead
        history_rows_copy_where(
            CustomerProduct,
            f"JOIN {NEW} AS n ON n.customer_id = {statuses}.customer_id AND n.product_id = {statuses}.product_id",
            [],
            history_type="+",
            user=user,
            change_reason=reason,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {NEW}")
    return len(batch)  # each pair became one status (the batch's key: pairs are distinct), or it raised
