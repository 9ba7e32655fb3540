"""Every write to the settlement ledger goes through here: a payment's or a refund's
lines, and an import's bulk load. The day table's triggers keep SettlementDay in the same
statements (see sales_pipeline.ledger_days for the SQLite bulk path), and the products
bought are marked in use in the same transaction (sales_pipeline.product_usage).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from decimal import Decimal

import pandas as pd
import pyarrow as pa
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from crm_project import hooks
from crm_project.copy import copy_frame, copy_table, decimal_array
from crm_project.imports import in_chunks
from crm_project.money import decimal_text

from ..ledger_days import sqlite_days_added_per_batch
from ..models import SettlementDay, SettlementLine
from ..product_usage import product_usage_mark, product_usage_mark_new_customers

# Lines are written, and progress reported, this many at a time.
CHUNK_ROWS = 50_000

# Seconds per stage of the last lines_insert in this thread, for the import's log and
# bench/bench_import.py (where the time goes).
stage_seconds: dict[str, float] = {}


@contextmanager
def _timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        stage_seconds[stage] = stage_seconds.get(stage, 0.0) + time.perf_counter() - started


def lines_create(lines: list[SettlementLine], *, user, reason: str) -> list[SettlementLine]:
    """A payment's or a refund's lines (a handful), inside the caller's transaction: a
    failure half-way is rolled back with the payment. Products bought are in use."""
    created = SettlementLine.objects.bulk_create(lines)
    bought = {(line.customer_id, line.product_id) for line in lines if line.amount > 0 and line.product_id}
    product_usage_mark(pairs=sorted(bought), user=user, reason=reason)
    if lines:
        _ledger_changed(since=min(line.date for line in lines))
    return created


def lines_delete(lines, *, user, reason: str) -> int:
    """Delete the lines of a queryset (admin's "delete"): the figures kept of their dates
    and later are marked stale in the same transaction. Returns how many were deleted."""
    since = lines.aggregate(since=Min("date"))["since"]
    deleted, _per_model = lines.delete()
    if deleted and since is not None:
        _ledger_changed(since=since)
    return deleted


def _ledger_changed(*, since) -> None:
    # Products in use stay as they were after a deletion: usage is ended by people (or a
    # refusal), not by a ledger correction.
    for receiver in hooks.get_hooks(hooks.LEDGER_CHANGED):
        receiver(since=since)


def lines_insert(
    lines: pd.DataFrame, *, progress: Callable[[int], None], user, reason: str, new_customers: Collection[int] = ()
) -> int:
    """An import's lines (one row per line, in _LEDGER_COLUMNS), in chunks, skipping
    lines whose source key is in the ledger already; returns how many were new. Inside
    the import's transaction, which also marks the products bought as in use.
    `new_customers`: the ids of the customers the import created in this transaction
    (they hold no status yet: their products take the short path)."""
    insert = {"postgresql": _insert_postgresql, "sqlite": _insert_sqlite}.get(connection.vendor, _insert_orm)
    stage_seconds.clear()
    new_customers = set(new_customers)
    with _timed("product usage"):
        # Customers without a line before this import: all their lines are in `lines`,
        # so their products' first positive days are computed here, not in the ledger.
        others = [pk for pk in lines["customer_id"].unique().tolist() if pk not in new_customers]
        earlier = _customers_with_lines(others)
    created = insert(lines, progress)
    with _timed("product usage"):
        bought = lines.loc[(lines["amount"] > 0) & lines["product_id"].notna(), ["customer_id", "product_id", "date"]]
        bought = bought.astype({"date": str}).groupby(["customer_id", "product_id"], as_index=False)["date"].min()
        bought = bought.rename(columns={"date": "first_day"})
        new = bought["customer_id"].isin(new_customers)
        product_usage_mark_new_customers(first_days=bought[new], user=user, reason=reason)
        bought = bought[~new]
        first_days = bought[~bought["customer_id"].isin(earlier)]
        pairs = bought[["customer_id", "product_id"]].itertuples(index=False, name=None)
        product_usage_mark(pairs=pairs, user=user, reason=reason, first_days=first_days)
    if created and len(lines):
        # One mark for the whole import: from its earliest date on (set-based, not per line).
        _ledger_changed(since=pd.Timestamp(lines["date"].astype("object").min()).date())
    return created


def _customers_with_lines(customer_ids: list[int]) -> set[int]:
    """Those of `customer_ids` with a line in the ledger (its day table: a row per
    customer and day, read through its primary key)."""
    found: set[int] = set()
    for chunk in in_chunks([int(pk) for pk in customer_ids]):
        days = SettlementDay.objects.filter(customer_id__in=chunk).order_by()
        found.update(days.values_list("customer_id", flat=True).distinct())
    return found


_LEDGER_COLUMNS = [
    "date", "customer_id", "product_id", "quantity", "amount", "cost", "manager_id", "document", "source_key",
]  # fmt: skip


def _insert_postgresql(lines, progress: Callable[[int], None]) -> int:
    """Each chunk COPYed straight into the ledger, or, where a line may be there already,
    COPYed into a temporary table and INSERT ... SELECT ... ON CONFLICT DO NOTHING into
    the ledger, whose row count is exactly the lines that were new.

    A line's key is a hash of its values, date included (settlement_import.source_keys),
    so a chunk's key can be in the ledger already only if a line of the chunk's days was
    there before this import (lines come in key order, which starts with the date: a
    chunk is a run of days; a file's own keys are all distinct, and other writers are
    payments, whose keys differ). Only the lines there before count: the day a chunk
    starts with was mostly also the previous chunk's last, which made every chunk after
    the first take the slow path. A chunk whose days held no line cannot collide: it is COPYed into the ledger itself,
    in the ledger's types (exact decimals built by Arrow), with no temporary table to
    write and read again. Only the others pay the staging and ON CONFLICT's speculative
    insertion (one more index probe and WAL record per line; 0.23 s per 100,000 lines,
    bench/README.md). A line with the same key written meanwhile by someone else fails
    the unique key, and with it the whole import, which says so (imports hold their own
    lock; payments' keys differ). Either way the foreign keys, the unique key and the day
    table's trigger (COPY fires it too) apply to every line."""
    quote = connection.ops.quote_name
    table, stage = quote(SettlementLine._meta.db_table), quote("settlement_import_stage")
    columns = _LEDGER_COLUMNS
    listed = ", ".join(quote(name) for name in columns)
    created = 0
    now = timezone.now()
    with connection.cursor() as cursor:
        # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: a million deferred
        # checks would all run at COMMIT, a long freeze after the bar reached 100 %.
        # Checked per statement they cost the same but show as progress.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The day table's trigger groups each chunk in memory rather than on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} (date date, customer_id bigint, product_id bigint, quantity bigint, "
            "amount bigint, cost bigint, manager_id bigint, document text, source_key text) ON COMMIT DROP"
        )
        # The lines there before this import: the ids up to here (read under the import lock).
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        before = cursor.fetchone()[0]
        for start in range(0, len(lines), CHUNK_ROWS):
            chunk = lines.iloc[start : start + CHUNK_ROWS][columns]
            with _timed("lines INSERT"):
                days = chunk["date"].astype(str)  # ISO dates: their text order is their order
                cursor.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {quote('date')} BETWEEN %s AND %s AND id <= %s)",
                    [days.min(), days.max(), before],
                )
                may_exist = cursor.fetchone()[0]
            if not may_exist:
                with _timed("lines COPY"):
                    copy_table(cursor, table, _ledger_table(chunk, created_at=now))
                created += len(chunk)
                progress(min(start + CHUNK_ROWS, len(lines)))
                continue
            with _timed("stage COPY"):
                copy_frame(cursor, stage, chunk)
            with _timed("lines INSERT"):
                # Quantities and money travel as exact integers of 1/1,000 and 1/10,000.
                cursor.execute(
                    f"INSERT INTO {table} ({listed}, {quote('created_at')}) "
                    "SELECT date, customer_id, product_id, quantity * 0.001, amount * 0.0001, cost * 0.0001, "
                    f"manager_id, COALESCE(document, ''), source_key, %s FROM {stage} "
                    f"ON CONFLICT ({quote('source_key')}) DO NOTHING",
                    [now],
                )
                created += cursor.rowcount
                cursor.execute(f"TRUNCATE {stage}")
            progress(min(start + CHUNK_ROWS, len(lines)))
        cursor.execute(f"DROP TABLE {stage}")
    return created


def _ledger_table(chunk: pd.DataFrame, *, created_at) -> pa.Table:
    """A chunk of import lines in the ledger's columns and types, for COPY into it:
    quantities and money as exact decimals from their integer units."""
    plain = chunk[["date", "customer_id", "product_id", "manager_id", "source_key"]]
    data = pa.Table.from_pandas(plain, preserve_index=False)
    data = data.append_column("document", pa.Array.from_pandas(chunk["document"].fillna("")))
    for name, places in (("quantity", 3), ("amount", 4), ("cost", 4)):
        data = data.append_column(name, decimal_array(chunk[name], places))
    return data.append_column("created_at", pa.repeat(created_at.isoformat(), len(chunk)))


def _insert_sqlite(lines, progress: Callable[[int], None]) -> int:
    """INSERT OR IGNORE through executemany: one prepared statement per chunk, about ten
    times faster than bulk_create's model instances. The values are what Django itself
    would send (decimals as text, dates in ISO, created_at adapted by the backend), and
    the cursor's rowcount counts exactly the rows that were new. The day table gets one
    grouped upsert per chunk instead of its row trigger (ledger_days)."""
    quote = connection.ops.quote_name
    columns = [*_LEDGER_COLUMNS, "created_at"]
    sql = (
        f"INSERT OR IGNORE INTO {quote(SettlementLine._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    created = 0
    with sqlite_days_added_per_batch() as add_days, connection.cursor() as cursor:
        for start in range(0, len(lines), CHUNK_ROWS):
            chunk = lines.iloc[start : start + CHUNK_ROWS]
            values = zip(
                chunk["date"].tolist(),
                chunk["customer_id"].tolist(),
                chunk["product_id"].tolist(),
                decimal_text(chunk["quantity"], 3).tolist(),
                decimal_text(chunk["amount"], 4).tolist(),
                decimal_text(chunk["cost"], 4).tolist(),
                _nullable(chunk["manager_id"]),
                chunk["document"].tolist(),
                chunk["source_key"].tolist(),
                [created_at] * len(chunk),
                strict=True,
            )
            with _timed("lines INSERT"):
                cursor.executemany(sql, list(values))
                created += cursor.rowcount
            with _timed("day table"):
                add_days()
            progress(start + len(chunk))
    return created


def _insert_orm(lines, progress: Callable[[int], None]) -> int:
    """bulk_create with ignore_conflicts for any other database, counting before/after."""
    now = timezone.now()
    created = 0
    for start in range(0, len(lines), CHUNK_ROWS):
        chunk = lines.iloc[start : start + CHUNK_ROWS]
        before = SettlementLine.objects.count()
        SettlementLine.objects.bulk_create(
            [
                SettlementLine(
                    date=line.date,
                    customer_id=line.customer_id,
                    product_id=line.product_id,
                    quantity=Decimal(int(line.quantity)).scaleb(-3),
                    amount=Decimal(int(line.amount)).scaleb(-4),
                    cost=None if pd.isna(line.cost) else Decimal(int(line.cost)).scaleb(-4),
                    manager_id=None if pd.isna(line.manager_id) else int(line.manager_id),
                    document=line.document,
                    source_key=line.source_key,
                    created_at=now,
                )
                for line in chunk.itertuples(index=False)
            ],
            ignore_conflicts=True,
            batch_size=5_000,
        )
        created += SettlementLine.objects.count() - before
        progress(start + len(chunk))
    return created


def _nullable(values: pd.Series) -> list:
    return values.astype(object).where(values.notna(), None).tolist()


