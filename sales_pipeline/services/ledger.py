"""Every write to the settlement ledger goes through here: a payment's or a refund's
lines, and an import's bulk load. The day table's triggers keep SettlementDay in the same
statements (see sales_pipeline.ledger_days for the SQLite bulk path), and the products
bought are marked in use in the same transaction (sales_pipeline.product_usage).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pandas as pd
from django.db import connection
from django.utils import timezone

from crm_project.copy import copy_frame
from crm_project.money import decimal_text

from ..ledger_days import sqlite_days_added_per_batch
from ..models import SettlementLine
from ..product_usage import product_usage_mark

# Lines are written, and progress reported, this many at a time.
CHUNK_ROWS = 50_000


def lines_create(lines: list[SettlementLine], *, user, reason: str) -> list[SettlementLine]:
    """A payment's or a refund's lines (a handful), inside the caller's transaction: a
    failure half-way is rolled back with the payment. Products bought are in use."""
    created = SettlementLine.objects.bulk_create(lines)
    bought = {(line.customer_id, line.product_id) for line in lines if line.amount > 0 and line.product_id}
    product_usage_mark(pairs=sorted(bought), user=user, reason=reason)
    return created


def lines_insert(lines: pd.DataFrame, *, progress: Callable[[int], None], user, reason: str) -> int:
    """An import's lines (one row per line, in _LEDGER_COLUMNS), in chunks, skipping
    lines whose source key is in the ledger already; returns how many were new. Inside
    the import's transaction, which also marks the products bought as in use."""
    insert = {"postgresql": _insert_postgresql, "sqlite": _insert_sqlite}.get(connection.vendor, _insert_orm)
    created = insert(lines, progress)
    bought = lines.loc[(lines["amount"] > 0) & lines["product_id"].notna(), ["customer_id", "product_id"]]
    product_usage_mark(pairs=bought.drop_duplicates().itertuples(index=False, name=None), user=user, reason=reason)
    return created


_LEDGER_COLUMNS = [
    "date", "customer_id", "product_id", "quantity", "amount", "cost", "manager_id", "document", "source_key",
]  # fmt: skip


def _insert_postgresql(lines, progress: Callable[[int], None]) -> int:
    """COPY each chunk into a temporary table, then INSERT ... ON CONFLICT DO NOTHING
    into the ledger; the INSERT's row count is exactly the lines that were new."""
    quote = connection.ops.quote_name
    table, stage = quote(SettlementLine._meta.db_table), quote("settlement_import_stage")
    columns = _LEDGER_COLUMNS
    listed = ", ".join(quote(name) for name in columns)
    created = 0
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
        for start in range(0, len(lines), CHUNK_ROWS):
            copy_frame(cursor, stage, lines.iloc[start : start + CHUNK_ROWS][columns])
            # Quantities and money travel as exact integers of 1/1,000 and 1/10,000.
            cursor.execute(
                f"INSERT INTO {table} ({listed}, {quote('created_at')}) "
                "SELECT date, customer_id, product_id, quantity * 0.001, amount * 0.0001, cost * 0.0001, "
                f"manager_id, COALESCE(document, ''), source_key, %s FROM {stage} "
                f"ON CONFLICT ({quote('source_key')}) DO NOTHING",
                [timezone.now()],
            )
            created += cursor.rowcount
            cursor.execute(f"TRUNCATE {stage}")
            progress(min(start + CHUNK_ROWS, len(lines)))
        cursor.execute(f"DROP TABLE {stage}")
    return created


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
            cursor.executemany(sql, list(values))
            created += cursor.rowcount
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


