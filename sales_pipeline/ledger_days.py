"""The ledger's day table (SettlementDay) held against the ledger itself.

The database keeps the table with triggers (migration 0005), so the two agree by
construction; `settlement_days_drift` proves it on the whole ledger, and
`settlement_days_rebuild` recomputes the table, e.g. after a bulk load that ran with
the triggers disabled. Both back the `check_settlement_days` command.
`sqlite_days_added_per_batch` stands in for SQLite's row trigger during a bulk import."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from .models import SettlementDay, SettlementLine

DAYS = SettlementDay._meta.db_table
LEDGER = SettlementLine._meta.db_table
COLUMNS = "customer_id, date, amount, cost, lines, positive_lines"


def _ledger_days_sql(where: str = "") -> str:
    """The ledger (its lines `where` holds) summed per customer and day, in the day
    table's columns and units."""
    if connection.vendor == "postgresql":
        money = "CAST(SUM({column}) * 10000 AS BIGINT)"
    else:  # SQLite keeps decimals as REAL: round each line to whole 1/10,000, as its triggers do
        money = "SUM(CAST(ROUND({column} * 10000) AS INTEGER))"
    return (
        f"SELECT customer_id, date, {money.format(column='amount')} AS amount, "
        f"COALESCE({money.format(column='cost')}, 0) AS cost, COUNT(*) AS lines, "
        f"SUM(CASE WHEN amount > 0 THEN 1 ELSE 0 END) AS positive_lines "
        f"FROM {LEDGER} {f'WHERE {where}' if where else ''} GROUP BY customer_id, date"
    )


def settlement_days_drift(*, limit: int = 20) -> list[dict]:
    """Up to `limit` day rows where the table and the ledger disagree, each as
    {"customer_id", "date", "in_table": (amount, cost, lines, positive_lines) or None,
    "in_ledger": the same or None}. Empty when they agree exactly."""
    ledger_days = _ledger_days_sql()
    sql = f"""
        SELECT 'ledger' AS side, * FROM ({ledger_days} EXCEPT SELECT {COLUMNS} FROM {DAYS}) AS missing
        UNION ALL
        SELECT 'table' AS side, * FROM (SELECT {COLUMNS} FROM {DAYS} EXCEPT {ledger_days}) AS extra
    """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    drift: dict[tuple, dict] = {}
    for side, customer_id, day, *figures in rows:
        entry = drift.setdefault(
            (customer_id, str(day)), {"customer_id": customer_id, "date": str(day), "in_table": None, "in_ledger": None}
        )
        entry["in_table" if side == "table" else "in_ledger"] = tuple(figures)
    return [drift[key] for key in sorted(drift)][:limit]


def settlement_days_rebuild() -> int:
    """Replace the whole day table by the ledger summed per day, in one transaction;
    returns the number of day rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DAYS}")
        cursor.execute(f"INSERT INTO {DAYS} ({COLUMNS}) {_ledger_days_sql()}")
        return cursor.rowcount


SQLITE_INSERT_TRIGGER = "settlement_day_insert"


@contextmanager
def sqlite_days_added_per_batch() -> Iterator[Callable[[], None]]:
    """For a bulk insert into the ledger on SQLite, inside the caller's transaction.

    SQLite has only row triggers, and the one adding each new line to its day row was
    half of a million-line import's write time (bench/README.md). Here it is dropped, and
    the callable this yields adds the lines inserted since its last call to the day table
    with one grouped upsert; the trigger is put back as it was installed on the way out,
    the day table then as exact as the trigger keeps it. SQLite has one writer at a time
    and its DDL is transactional: no other connection writes while the trigger is away,
    and a rollback brings it back."""
    if connection.vendor != "sqlite" or not connection.in_atomic_block:
        raise RuntimeError("sqlite_days_added_per_batch is for a bulk insert inside a transaction on SQLite.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [SQLITE_INSERT_TRIGGER])
        (definition,) = cursor.fetchone()
        cursor.execute(f"DROP TRIGGER {SQLITE_INSERT_TRIGGER}")
        # Ids only grow (AUTOINCREMENT), so the lines after this one are the new ones.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {LEDGER}")
        (counted,) = cursor.fetchone()

    def add_new_lines() -> None:
        nonlocal counted
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {LEDGER} WHERE id > %s", [counted])
            (newest,) = cursor.fetchone()
            if newest is None:
                return
            cursor.execute(
                f"INSERT INTO {DAYS} ({COLUMNS}) {_ledger_days_sql(where='id > %s AND id <= %s')} "
                "ON CONFLICT (customer_id, date) DO UPDATE SET amount = amount + excluded.amount, "
                "cost = cost + excluded.cost, lines = lines + excluded.lines, "
                "positive_lines = positive_lines + excluded.positive_lines",
                [counted, newest],
            )
            counted = newest

    try:
        yield add_new_lines
        add_new_lines()
    finally:  # even if the caller goes on in the same transaction after an error
        with connection.cursor() as cursor:
            cursor.execute(definition)
