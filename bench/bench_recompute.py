#!/usr/bin/env python
"""Time the nightly recompute against a bare GROUP BY over the same PostgreSQL ledger.

    .venv/bin/python bench/bench_recompute.py [--lines 4000000] [--customers 40000]
        [--database crm_bench] [--reuse] [--repeat 3] [--session "work_mem=256MB"]...
        [--variants current,A,B] [--explain] [--json results.json]

Creates the database (or, with --reuse, keeps one whose ledger already has --lines
lines), migrates it, generates customers and a ledger on the server (INSERT ... SELECT
over generate_series, two sessions at a time, the ledger's indexes and keys dropped
during the load and rebuilt after), VACUUM ANALYZE, then, for each --session round of
session settings ('' = the server's own; default rounds: '' and 'work_mem=256MB'):

  bare       SELECT customer_id, sum(amount) FROM ledger GROUP BY customer_id, every
             row fetched into Python;
  recompute  segmentation.services.segments_recompute(as_of=...) end to end, split into
             its SQL aggregate (selectors.ledger_aggregates, including the fetch into a
             DataFrame), classify, snapshot write and the rest;
  A, B, C    the same recompute with the aggregate swapped for a prototype (below),
             each checked first to return exactly selectors.ledger_aggregates' frame.

The runs interleave (bare, current, A, B, bare, ...), one warm-up pass and then
--repeat timed passes; the best of each is reported, and the ratio is best recompute /
best bare. Each run also records the CPU seconds of this process plus its PostgreSQL
backend (from /proc, so the server must run on this machine): with
max_parallel_workers_per_gather=0 that is the whole cost of the run, and a ratio that
load from other processes on the machine hardly moves. Ends with a Markdown table;
peak memory is this process's ru_maxrss.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LEDGER = "sales_pipeline_settlementline"
AS_OF = date(2026, 3, 31)
HISTORY_MONTHS = 30  # the ledger spans D - 30 months .. D: more than two years
PRODUCTS = 2_000
CHUNK_LINES = 1_000_000
WORKERS = 2  # the machine has two cores
# Customer sizes: a document picks customer rank floor(n * u^SKEW), u uniform, so the
# top 20 % of customers get 0.2^(1/3) = 58 % of the documents; the top 10 % (the
# wholesalers) also buy WHOLESALE times the quantities, which puts about 80 % of the
# revenue with the top 20 % (Pareto-like).
SKEW = 3
WHOLESALE = 3
RETURN_SHARE = 0.1  # of documents; a return is a credit note of one or two lines
NO_LINES_SHARE = 0.02  # customers that never bought: the "potential" ones
CHURN_SHARE = 0.35  # customers whose buying stops at a random day
MEAN_LINES_PER_DOCUMENT = (1 - RETURN_SHARE) * 8 + RETURN_SHARE * 1.5

BARE_SQL = f"SELECT customer_id, sum(amount) FROM {LEDGER} GROUP BY customer_id"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=4_000_000)
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--database", default="crm_bench")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--reuse", action="store_true", help="keep the ledger if it already has --lines lines")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (best is reported)")
    parser.add_argument(
        "--session",
        action="append",
        help="session settings of one measuring round, e.g. \"work_mem=256MB;jit=off\" ('' = the server's); "
        "repeatable; default: '' and 'work_mem=256MB'",
    )
    parser.add_argument(
        "--variants",
        default="current,A,B",
        help="recompute variants to time: current (selectors as they are), A (by-day), B (day-bits), "
        "C (a maintained per-customer-day table)",
    )
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the three queries")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.session is None:
        args.session = ["", "work_mem=256MB"]
    return args


def dsn(args, database: str) -> str:
    return f"host={args.host} port={args.port} user={args.user} dbname={database}"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


#
# Database and generation (plain psycopg2, before and beside Django)
#


def existing_size(args) -> tuple[int, int] | None:
    """(ledger lines, bench customers) of an existing bench database, else None."""
    try:
        conn = psycopg2.connect(dsn(args, args.database))
    except psycopg2.OperationalError:
        return None
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {LEDGER}")
            lines = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM customers_customer WHERE external_ref LIKE 'BENCH%%'")
            return lines, cur.fetchone()[0]
    except psycopg2.Error:
        return None
    finally:
        conn.close()


def recreate_database(args) -> None:
    conn = psycopg2.connect(dsn(args, "postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{args.database}"')
    conn.close()


def ledger_ddl(cur) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]], list[tuple[str, str]]]:
    """The ledger's indexes, its primary/unique constraints and its foreign keys, as
    migrate made them, so the load can drop them and put back exactly the same."""
    cur.execute(
        """
        SELECT c.conname, c.contype, pg_get_constraintdef(c.oid), i.relname
        FROM pg_constraint c LEFT JOIN pg_class i ON i.oid = c.conindid
        WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u', 'f')
        """,
        [LEDGER],
    )
    keys, foreign = [], []
    for name, kind, definition, index in cur.fetchall():
        if kind == "f":
            foreign.append((name, definition))
        else:
            keys.append((name, definition, index))
    cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [LEDGER])
    backing = {index for _, _, index in keys}
    indexes = [(name, definition) for name, definition in cur.fetchall() if name not in backing]
    return indexes, keys, foreign


def create_customers_and_products(customers: int) -> None:
    """Through the ORM, so model defaults fill whatever columns the customer and product
    tables have grown; long-standing customers (created 2020-01-01)."""
    from datetime import datetime

    from django.utils import timezone

    from customers.models import Customer, Product

    created = timezone.make_aware(datetime(2020, 1, 1))
    Customer.objects.bulk_create(
        (
            Customer(name=f"Bench customer {i}", external_ref=f"BENCH{i:07d}", created_at=created)
            for i in range(1, customers + 1)
        ),
        batch_size=5_000,
    )
    Product.objects.bulk_create(
        (Product(sku=f"BENCH{i:05d}", name=f"Bench product {i}") for i in range(1, PRODUCTS + 1)), batch_size=5_000
    )


def generate(args) -> dict:
    """Customers and products (through the ORM), then --lines ledger lines made on the server."""
    timings = {}
    started = time.perf_counter()
    conn = psycopg2.connect(dsn(args, args.database))
    conn.autocommit = True
    cur = conn.cursor()
    start = months_before(AS_OF, HISTORY_MONTHS)
    span = (AS_OF - start).days
    create_customers_and_products(args.customers)
    cur.execute("SELECT min(id), max(id) FROM customers_product WHERE sku LIKE 'BENCH%%'")
    first_product, last_product = cur.fetchone()
    assert last_product - first_product + 1 == PRODUCTS, "product ids are not contiguous"
    # A profile per buying customer: a random size rank, a first day over the history
    # (so some are new in the last period), and for a third a last day (lost ones).
    cur.execute("DROP TABLE IF EXISTS bench_profile")
    cur.execute(
        """
        CREATE UNLOGGED TABLE bench_profile AS
        SELECT (row_number() OVER (ORDER BY u_order) - 1)::int AS rank, customer_id, first_day,
               u_order < 0.1 AS wholesale,
               CASE WHEN u_churn < %(churn)s
                    THEN first_day + floor(u_end * (%(as_of)s::date - first_day + 1))::int
                    ELSE %(as_of)s::date END AS last_day
        FROM (
            SELECT id AS customer_id, random() AS u_order, random() AS u_churn, random() AS u_end,
                   %(start)s::date + floor(random() * %(span)s)::int + 1 AS first_day
            FROM customers_customer
            WHERE external_ref LIKE 'BENCH%%' AND random() >= %(no_lines)s
        ) AS c
        """,
        {"churn": CHURN_SHARE, "as_of": AS_OF, "start": start, "span": span, "no_lines": NO_LINES_SHARE},
    )
    cur.execute("CREATE UNIQUE INDEX ON bench_profile (rank)")
    cur.execute("ANALYZE bench_profile")
    cur.execute("SELECT count(*) FROM bench_profile")
    buying = cur.fetchone()[0]
    timings["customers_s"] = time.perf_counter() - started

    # Drop what slows a bulk load; put back exactly the same after it.
    indexes, keys, foreign = ledger_ddl(cur)
    for name, _ in foreign:
        cur.execute(f'ALTER TABLE {LEDGER} DROP CONSTRAINT "{name}"')
    for name, _, _ in keys:
        cur.execute(f'ALTER TABLE {LEDGER} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')

    chunks = math.ceil(args.lines / CHUNK_LINES)
    docs_per_chunk = math.ceil(CHUNK_LINES / MEAN_LINES_PER_DOCUMENT * 1.25)
    values = {
        "buying": buying,
        "skew": SKEW,
        "returns": RETURN_SHARE,
        "product0": first_product,
        "wholesale": WHOLESALE,
        "products": PRODUCTS,
    }

    def load(k: int) -> int:
        lines = min(CHUNK_LINES, args.lines - k * CHUNK_LINES)
        with psycopg2.connect(dsn(args, args.database)) as c, c.cursor() as chunk_cur:
            chunk_cur.execute("SET synchronous_commit = off")
            chunk_cur.execute(
                GENERATE_CHUNK_SQL,
                {**values, "doc_lo": k * docs_per_chunk + 1, "doc_hi": (k + 1) * docs_per_chunk, "lines": lines},
            )
            return chunk_cur.rowcount

    loaded = 0
    load_started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        for done in pool.map(load, range(chunks)):
            loaded += done
            rate = loaded / (time.perf_counter() - load_started)
            log(f"  {loaded:,} / {args.lines:,} lines ({rate:,.0f} lines/s)")
    if loaded != args.lines:
        raise RuntimeError(f"generated {loaded} lines instead of {args.lines}")
    timings["lines_s"] = time.perf_counter() - load_started

    index_started = time.perf_counter()

    def build(statement: str) -> None:
        with psycopg2.connect(dsn(args, args.database)) as c, c.cursor() as build_cur:
            build_cur.execute("SET maintenance_work_mem = '1GB'")
            build_cur.execute(statement)

    unique = [
        f'CREATE UNIQUE INDEX "{index}" ON {LEDGER} {definition[definition.index("(") :]}'
        for _, definition, index in keys  # "PRIMARY KEY (id)" / "UNIQUE (source_key)"
    ]
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(build, unique + [definition for _, definition in indexes]))
    for name, definition, index in keys:
        kind = "PRIMARY KEY" if definition.startswith("PRIMARY KEY") else "UNIQUE"
        cur.execute(f'ALTER TABLE {LEDGER} ADD CONSTRAINT "{name}" {kind} USING INDEX "{index}"')
    for name, definition in foreign:
        cur.execute(f'ALTER TABLE {LEDGER} ADD CONSTRAINT "{name}" {definition} NOT VALID')
        cur.execute(f'ALTER TABLE {LEDGER} VALIDATE CONSTRAINT "{name}"')
    timings["indexes_s"] = time.perf_counter() - index_started
    cur.execute("DROP TABLE bench_profile")
    vacuum_started = time.perf_counter()
    cur.execute(f"VACUUM (ANALYZE) {LEDGER}")
    cur.execute("VACUUM (ANALYZE) customers_customer")
    cur.execute("VACUUM (ANALYZE) customers_product")
    timings["vacuum_s"] = time.perf_counter() - vacuum_started
    timings["generation_s"] = time.perf_counter() - started
    conn.close()
    return timings


# One chunk of the ledger. Documents (invoices) pick a customer by skewed rank and a
# day inside the customer's active span; each has 1..15 lines (returns: 1..2 negative
# lines). Lines get a product (skewed), a quantity, a price (1 % with three decimals)
# and, on half the documents, a cost. Volatile expressions sit in subquery target lists,
# which PostgreSQL never inlines, so every value is drawn once.
GENERATE_CHUNK_SQL = f"""
INSERT INTO {LEDGER}
    (date, customer_id, product_id, quantity, amount, cost, manager_id, document, source_key, created_at)
SELECT day, customer_id, product_id, quantity, amount,
       CASE WHEN with_cost THEN round(amount * cost_ratio, 4) END,
       NULL, 'B' || doc, 'bench-' || doc || '-' || line, now()
FROM (
    SELECT d.doc, d.day, d.customer_id, d.with_cost, d.cost_ratio, line,
           %(product0)s + floor(%(products)s * power(random(), 2))::bigint AS product_id,
           (CASE WHEN d.is_return THEN -1 ELSE 1 END * CASE WHEN d.wholesale THEN %(wholesale)s ELSE 1 END
            * (1 + floor(24 * power(random(), 3))))::numeric AS quantity,
           round((0.25 + 30 * power(random(), 2))::numeric, CASE WHEN random() < 0.01 THEN 3 ELSE 2 END) AS price
    FROM (
        SELECT p.doc, f.customer_id, f.wholesale, p.is_return, p.with_cost, p.cost_ratio,
               f.first_day + floor(p.u_day * (f.last_day - f.first_day + 1))::int AS day,
               CASE WHEN p.is_return THEN 1 + floor(2 * p.u_lines)::int ELSE 1 + floor(15 * p.u_lines)::int END
                   AS lines
        FROM (
            SELECT doc, floor(%(buying)s * power(random(), %(skew)s))::int AS rank, random() AS u_day,
                   random() AS u_lines, random() < %(returns)s AS is_return, random() < 0.5 AS with_cost,
                   (0.45 + 0.35 * random())::numeric AS cost_ratio
            FROM generate_series(%(doc_lo)s::bigint, %(doc_hi)s::bigint) AS doc
        ) AS p
        JOIN bench_profile AS f ON f.rank = p.rank
    ) AS d
    CROSS JOIN LATERAL generate_series(1, d.lines) AS line
    LIMIT %(lines)s
) AS l
CROSS JOIN LATERAL (SELECT quantity * price AS amount) AS a
"""


def months_before(d: date, months: int) -> date:
    from segmentation.classification import months_before as engine_months_before

    return engine_months_before(d, months)


#
# Django side: the timed work
#


def setup_django(args) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    # Production runs with DEBUG off (no query log); the key only has to be non-default.
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _fetch_frame(sql: str, values: list):
    """Run an aggregate and shape it as selectors.ledger_aggregates does."""
    import pandas as pd
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        columns = [col[0] for col in cursor.description]
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for column in columns[3:]:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


# The ledger summed per customer and day: what prototype A groups first, and what
# prototype C keeps in a table (ROLLUP) as if imports and payments maintained it.
DAYS_SQL = f"""
    SELECT customer_id, date AS day, SUM(amount) AS amount, SUM(cost) AS cost, COUNT(*) AS lines
    FROM {LEDGER}
    WHERE date <= %s
    GROUP BY customer_id, date
"""
ROLLUP = "bench_customer_day"


def ledger_aggregates_by_day(*, as_of: date, params, days_source: str | None = None):
    """Prototype A for selectors.ledger_aggregates, returning exactly its frame.

    Every condition of the aggregate is on the date alone, so the ledger can first be
    summed per (customer, day) - three plain aggregates, hashable and parallel - and the
    classify-ready columns then come from the much smaller day rows: distinct days are
    just day rows (no COUNT(DISTINCT), hence no sort or index walk of the whole ledger),
    line counts are sums of per-day counts, the bucket sums read day rows, not lines."""
    from segmentation.classification import boundaries, bucket_columns
    from segmentation.selectors import MINOR_UNITS

    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges, ws = bounds.bucket_edges, bounds.window_start

    def money(expression: str, condition: str) -> str:
        return f"CAST(SUM({expression}) FILTER (WHERE {condition}) * {MINOR_UNITS} AS BIGINT)"

    buckets = ",\n".join(
        f"{money('amount', 'day > %s AND day <= %s')} AS {column}" for column in bucket_columns(params)
    )
    sql = f"""
        SELECT customer_id,
               MIN(day) AS first_date,
               MAX(day) FILTER (WHERE day > %s) AS last_date_window,
               COUNT(*) FILTER (WHERE day > %s) AS days_window,
               {money("amount", "day > %s")} AS revenue_window,
               {money("amount - COALESCE(cost, 0)", "day > %s")} AS margin_window,
               SUM(lines) FILTER (WHERE day > %s) AS lines_p0,
               SUM(lines) FILTER (WHERE day > %s AND day <= %s) AS lines_p1,
               {buckets},
               SUM(lines) AS lines_total
        FROM ({days_source or DAYS_SQL}) AS days
        GROUP BY customer_id
    """
    values = [ws, ws, ws, ws, p1, p2, p1]
    for k in range(params.bucket_count):
        values += [edges[k + 1], edges[k]]
    values.append(d)
    return _fetch_frame(sql, values)


def ledger_aggregates_day_bits(*, as_of: date, params):
    """Prototype B (distinct days as bit_or/bit_count words, parallel-safe aggregates) is
    what segmentation.selectors now runs on PostgreSQL: timed here as itself."""
    from segmentation.selectors import ledger_aggregates

    return ledger_aggregates(as_of=as_of, params=params)


def build_rollup() -> float:
    """Prototype C's table: one row per customer and day with the day's sums. In the
    product, the import and the payments would add to it as they write lines; here it
    is built once, and the time that takes is reported apart (not part of the nightly
    job)."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {ROLLUP}")
        cursor.execute(
            f"""
            CREATE TABLE {ROLLUP} AS
            SELECT customer_id, date, SUM(amount) AS amount, SUM(cost) AS cost, COUNT(*) AS lines
            FROM {LEDGER} GROUP BY customer_id, date
            """
        )
        cursor.execute(f"ALTER TABLE {ROLLUP} ADD PRIMARY KEY (customer_id, date)")
        cursor.execute(f"VACUUM ANALYZE {ROLLUP}")
    return time.perf_counter() - started


def ledger_aggregates_rollup(*, as_of: date, params):
    """Prototype C: prototype A's second step over the maintained per-day table, so the
    nightly job reads one row per customer and day instead of every ledger line."""
    source = f"SELECT customer_id, date AS day, amount, cost, lines FROM {ROLLUP} WHERE date <= %s"
    return ledger_aggregates_by_day(as_of=as_of, params=params, days_source=source)


# The aggregate each recompute variant uses; None = segmentation.selectors as it is.
VARIANTS = {
    "current": None,
    "A by-day": ledger_aggregates_by_day,
    "B day-bits": ledger_aggregates_day_bits,
    "C rollup": ledger_aggregates_rollup,
}


class Split:
    """Wraps the recompute's steps with timers (and optionally swaps the aggregate)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def timed(self, name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    @contextmanager
    def patched(self, aggregate=None):
        from segmentation import selectors, services

        saved = (selectors.ledger_aggregates, services.classify, services.snapshot_replace)
        selectors.ledger_aggregates = self.timed("aggregate", aggregate or saved[0])
        services.classify = self.timed("classify", saved[1])
        services.snapshot_replace = self.timed("write", saved[2])
        try:
            yield self
        finally:
            selectors.ledger_aggregates, services.classify, services.snapshot_replace = saved


def cpu_seconds() -> float:
    """CPU time used so far by this process plus its PostgreSQL backend (read from
    /proc: the server runs on this machine). Parallel workers are other processes, so
    this is the whole CPU cost only with max_parallel_workers_per_gather = 0; unlike
    wall time it hardly moves when other work loads the machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + time.process_time()


def run_bare() -> dict:
    from django.db import connection

    cpu, started = cpu_seconds(), time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL)
        rows = cursor.fetchall()
    elapsed = time.perf_counter() - started
    assert rows
    return {"total": elapsed, "cpu": cpu_seconds() - cpu}


def run_recompute(aggregate=None) -> dict:
    from segmentation.services import segments_recompute

    split = Split()
    cpu, started = cpu_seconds(), time.perf_counter()
    with split.patched(aggregate):
        run = segments_recompute(as_of=AS_OF, triggered_by="bench")
    total = time.perf_counter() - started
    parts = dict(split.seconds)
    parts["total"] = total
    parts["cpu"] = cpu_seconds() - cpu
    parts["other"] = total - sum(split.seconds.values())
    parts["customers"] = run.customers
    parts["lines"] = run.lines
    return parts


_touched: set[str] = set()


def apply_session(settings: str) -> None:
    """Reset what an earlier round set, then SET each 'name=value' of a ';'-separated
    list for this session (RESET ALL would also undo Django's own SET TIME ZONE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for name in sorted(_touched):
            cursor.execute(f"RESET {name}")
        for item in filter(None, (part.strip() for part in settings.split(";"))):
            name, value = (x.strip() for x in item.split("=", 1))
            if not name.replace("_", "").isalnum():
                raise ValueError(f"not a setting name: {name}")
            cursor.execute(f"SET {name} = %s", [value])
            _touched.add(name)


def show(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def check_prototypes_equal_current(chosen: list[str]) -> None:
    """Each prototype must return exactly selectors.ledger_aggregates' frame, for the
    default parameters and for 3-month buckets with the margin basis."""
    from segmentation import selectors
    from segmentation.classification import ClassificationParams

    for params in (ClassificationParams(), ClassificationParams(xyz_bucket_months=3, abc_basis="margin")):
        current = selectors.ledger_aggregates(as_of=AS_OF, params=params)
        current = current.sort_values("customer_id", ignore_index=True)
        for name, function in VARIANTS.items():
            if function is None or name.split()[0] not in chosen:
                continue
            proposed = function(as_of=AS_OF, params=params).sort_values("customer_id", ignore_index=True)
            if list(current.columns) != list(proposed.columns) or not current.equals(proposed):
                diff = [c for c in current.columns if c not in proposed or not current[c].equals(proposed[c])]
                raise AssertionError(f"{name} differs from selectors.ledger_aggregates in {diff}")


def aggregate_sql(function=None) -> tuple[str, list]:
    """The exact SQL and parameters an aggregate function sends."""
    from django.db import connection

    from segmentation import selectors
    from segmentation.models import ClassificationSettings

    seen = []

    def spy(execute, sql, params, many, context):
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        (function or selectors.ledger_aggregates)(as_of=AS_OF, params=ClassificationSettings.current().as_params())
    return next((sql, list(p)) for sql, p in seen if "GROUP BY customer_id" in sql)


def explain(label: str, sql: str, params=()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall() if "FILTER" not in row[0] and "Filter:" not in row[0])
    print(f"\n--- EXPLAIN ANALYZE: {label} (work_mem {show('work_mem')}, jit {show('jit')}) ---\n{plan}\n", flush=True)


def timed_sql(sql: str, params) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()
    return time.perf_counter() - started


def seconds(values) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def measure_round(args, settings: str) -> dict:
    """Under one set of session settings: the bare aggregate and a recompute per
    variant, interleaved (bare, current, A, B, bare, ...) so that load from elsewhere
    on the machine hits them alike; one warm-up pass, then --repeat timed passes."""
    apply_session(settings)
    label = settings or "server defaults"
    variants = {name: fn for name, fn in VARIANTS.items() if name.split()[0] in args.variants.split(",")}
    bare_runs: list[dict] = []
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for attempt in range(args.repeat + 1):
        bare = run_bare()
        results = {name: run_recompute(fn) for name, fn in variants.items()}
        if attempt:  # the first pass is the warm-up
            bare_runs.append(bare)
            for name, result in results.items():
                runs[name].append(result)
    bare = min(r["total"] for r in bare_runs)
    bare_cpu = min(r["cpu"] for r in bare_runs)
    result = {
        "settings": label,
        "work_mem": show("work_mem"),
        "jit": show("jit"),
        "parallel": show("max_parallel_workers_per_gather"),
        "bare_s": bare,
        "bare_cpu_s": bare_cpu,
        "bare_runs": [r["total"] for r in bare_runs],
        "variants": {},
    }
    log(f"  [{label}] bare aggregate: best {bare:.2f} s of {seconds(result['bare_runs'])}; CPU {bare_cpu:.2f} s")
    for name, attempts in runs.items():
        best = min(attempts, key=lambda r: r["total"])
        best_sql = min(r["aggregate"] for r in attempts)
        best_cpu = min(r["cpu"] for r in attempts)
        result["variants"][name] = {
            **best,
            "runs": [r["total"] for r in attempts],
            "best_aggregate": best_sql,
            "best_cpu": best_cpu,
            "ratio": best["total"] / bare,
            "cpu_ratio": best_cpu / bare_cpu,
        }
        log(
            f"  [{label}] recompute, {name}: best {best['total']:.2f} s = aggregate {best['aggregate']:.2f} "
            f"+ classify {best['classify']:.2f} + write {best['write']:.2f} + other {best['other']:.2f}; "
            f"runs {seconds(result['variants'][name]['runs'])}; ratio {best['total'] / bare:.2f}x "
            f"(aggregate alone {best_sql / bare:.2f}x); CPU {best_cpu:.2f} s ({best_cpu / bare_cpu:.2f}x)"
        )
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    figures: dict = {"lines": args.lines, "customers": args.customers, "as_of": AS_OF.isoformat()}
    size = existing_size(args) if args.reuse else None
    generate_now = size != (args.lines, args.customers)
    if generate_now:
        log(f"Creating database {args.database}")
        recreate_database(args)
    else:
        log(f"Reusing {args.database}: {size[0]:,} lines, {size[1]:,} customers")
    setup_django(args)
    migrate()
    if generate_now:
        log(f"Generating {args.customers:,} customers and {args.lines:,} ledger lines")
        figures["generation"] = generate(args)
        g = figures["generation"]
        log(
            f"Generated in {g['generation_s']:.0f} s (lines {g['lines_s']:.0f} s, indexes and keys "
            f"{g['indexes_s']:.0f} s, vacuum analyze {g['vacuum_s']:.0f} s)"
        )
    figures.update(describe_ledger())
    log(
        "Ledger: {lines_in_db:,} lines, {buying:,} buying customers, {days:,} customer-days, {returns:.1%} "
        "negative lines, {with_cost:.1%} with cost, {first} .. {last}; the top 20 % of customers hold "
        "{top20:.0%} of the lines and {top20_revenue:.0%} of the revenue; table {table_mb:,.0f} MB + "
        "indexes {index_mb:,.0f} MB".format(**figures)
    )
    figures["server"] = {
        name: show(name) for name in ("work_mem", "jit", "max_parallel_workers_per_gather", "shared_buffers")
    }
    from django.db import connection

    from segmentation.services import segments_recompute

    segments_recompute(as_of=AS_OF, triggered_by="bench warm-up")
    if "C" in args.variants.split(","):
        figures["rollup_build_s"] = build_rollup()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{ROLLUP}') / 1048576.0 FROM {ROLLUP}")
            figures["rollup_rows"], figures["rollup_mb"] = cursor.fetchone()
        log(
            f"Prototype C's per-customer-day table: {figures['rollup_rows']:,} rows, {figures['rollup_mb']:,.0f} MB, "
            f"built in {figures['rollup_build_s']:.1f} s (in the product: kept up to date by the writes)"
        )
    if args.variants != "current":
        check_prototypes_equal_current(args.variants.split(","))
        log("The prototypes return exactly the frame of selectors.ledger_aggregates")

    if args.explain:
        for settings in args.session:
            apply_session(settings)
            explain("bare aggregate", BARE_SQL)
            sql, params = aggregate_sql()
            explain("selectors.ledger_aggregates", sql, params)
            no_distinct = sql.replace("COUNT(DISTINCT CASE WHEN date > %s THEN date END)", "0")
            reduced = params[:1] + params[2:]
            explain("selectors.ledger_aggregates with its COUNT(DISTINCT ...) replaced by 0", no_distinct, reduced)
            for name, function in VARIANTS.items():
                if function is not None and name.split()[0] in args.variants.split(","):
                    explain(f"prototype {name}", *aggregate_sql(function))
            with_distinct = min(timed_sql(sql, params) for _ in range(2))
            without = min(timed_sql(no_distinct, reduced) for _ in range(2))
            log(
                f"  [{settings or 'server defaults'}] selectors' SQL {with_distinct:.2f} s; "
                f"without its COUNT(DISTINCT) {without:.2f} s"
            )
            figures.setdefault("count_distinct", []).append(
                {"settings": settings, "with_s": with_distinct, "without_s": without}
            )

    figures["rounds"] = [measure_round(args, settings) for settings in args.session]
    apply_session("")
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["wall_s"] = time.perf_counter() - began
    print()
    print(markdown(figures))
    print(f"\nPeak RSS of this Python process: {figures['peak_rss_mb']:.0f} MB; whole run {figures['wall_s']:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


def describe_ledger() -> dict:
    """What the generated ledger looks like (three scans)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), avg((amount < 0)::int), avg((cost IS NOT NULL)::int), min(date), max(date),
                   pg_table_size(%s) / 1048576.0, pg_indexes_size(%s) / 1048576.0
            FROM {LEDGER}
            """,
            [LEDGER, LEDGER],
        )
        lines, returns, with_cost, first, last, table_mb, index_mb = cursor.fetchone()
        cursor.execute(
            f"""
            WITH per AS (SELECT customer_id, count(*) AS n, sum(amount) AS v FROM {LEDGER} GROUP BY customer_id),
                 ranked AS (SELECT n, v, row_number() OVER (ORDER BY n DESC) AS by_n,
                                   row_number() OVER (ORDER BY v DESC) AS by_v, count(*) OVER () AS c FROM per)
            SELECT count(*), sum(n) FILTER (WHERE by_n <= c / 5)::float / sum(n),
                   sum(v) FILTER (WHERE by_v <= c / 5)::float / sum(v)
            FROM ranked
            """
        )
        buying, top20, top20_revenue = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM (SELECT DISTINCT customer_id, date FROM {LEDGER}) AS d")
        days = cursor.fetchone()[0]
    return {
        "lines_in_db": lines,
        "buying": buying,
        "top20": top20,
        "top20_revenue": top20_revenue,
        "days": days,
        "returns": float(returns),
        "with_cost": float(with_cost),
        "first": first,
        "last": last,
        "table_mb": float(table_mb),
        "index_mb": float(index_mb),
    }


def markdown(figures: dict) -> str:
    """The README table: one row per (session settings, recompute variant)."""
    columns = [
        "lines",
        "session",
        "bare GROUP BY (s)",
        "aggregate used by the recompute",
        "recompute (s)",
        "ratio",
        "of which SQL aggregate",
        "classify",
        "snapshot write",
        "other",
        "CPU bare / recompute (s)",
    ]
    rows = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in figures["rounds"]:
        for name, v in r["variants"].items():
            cells = [
                f"{figures['lines']:,}",
                f"work_mem {r['work_mem']}, jit {r['jit']}, {r['parallel']} workers",
                f"{r['bare_s']:.2f}",
                "selectors.ledger_aggregates (current)" if name == "current" else f"prototype {name}",
                f"{v['total']:.2f}",
                f"**{v['ratio']:.2f}x**",
                f"{v['aggregate']:.2f}",
                f"{v['classify']:.2f}",
                f"{v['write']:.2f}",
                f"{v['other']:.2f}",
                f"{r['bare_cpu_s']:.2f} / {v['best_cpu']:.2f} ({v['cpu_ratio']:.2f}x)",
            ]
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
