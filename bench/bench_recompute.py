#!/usr/bin/env python
"""Time the nightly recompute against a bare GROUP BY over the same PostgreSQL ledger.

    .venv/bin/python bench/bench_recompute.py [--lines 4000000] [--customers 40000]
        [--database crm_bench] [--reuse] [--repeat 3] [--explain] [--json results.json]

Creates the database (or, with --reuse, keeps one whose ledger already has --lines
lines), migrates it, generates customers and a ledger on the server (INSERT ... SELECT
over generate_series, two sessions at a time, with the ledger's indexes, keys and
triggers off during the load and put back after: the day table the triggers keep is
then built in one statement, sales_pipeline.ledger_days.settlement_days_rebuild), VACUUM
ANALYZE, and checks that the classification's input read from the day table equals the
same columns computed straight from the ledger's lines. Then, interleaved after one
warm-up pass, --repeat times each:

  bare       SELECT customer_id, sum(amount) FROM the ledger GROUP BY customer_id, every
             row fetched into Python;
  recompute  segmentation.services.segments_recompute(as_of=D) end to end (the nightly
             job less Celery), split into its SQL aggregate (selectors.ledger_aggregates,
             fetch included), classify, the snapshot write and the rest.

The best of each is reported and the ratio is best recompute / best bare. Each run also
records the CPU seconds of this process plus its PostgreSQL backend (from /proc, so the
server must run on this machine; parallel workers are not counted). Peak memory is this
process's ru_maxrss. Ends with a Markdown row for the README.
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
DAYS = "sales_pipeline_settlementday"
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
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of both queries")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


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
    # The day table is built once after the load, as an operator would after a bulk load.
    cur.execute(f"ALTER TABLE {LEDGER} DISABLE TRIGGER USER")

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
    days_started = time.perf_counter()
    from sales_pipeline.ledger_days import settlement_days_rebuild

    settlement_days_rebuild()
    cur.execute(f"ALTER TABLE {LEDGER} ENABLE TRIGGER USER")
    timings["days_s"] = time.perf_counter() - days_started
    cur.execute("DROP TABLE bench_profile")
    vacuum_started = time.perf_counter()
    cur.execute(f"VACUUM (ANALYZE) {LEDGER}")
    cur.execute(f"VACUUM (ANALYZE) {DAYS}")
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


def setup_django(args, *, debug: bool = False) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    # Production runs with DEBUG off (no query log); the key only has to be non-default.
    # The page benches turn it on: it serves the static files' plain names (no manifest to
    # build), and CaptureQueriesContext counts the queries either way.
    os.environ["DEBUG"] = "true" if debug else "False"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Split:
    """Wraps the recompute's steps with timers."""

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
    def patched(self):
        from segmentation import selectors, services

        saved = (selectors.ledger_aggregates, services.classify, services.snapshot_replace)
        selectors.ledger_aggregates = self.timed("aggregate", saved[0])
        services.classify = self.timed("classify", saved[1])
        services.snapshot_replace = self.timed("write", saved[2])
        try:
            yield self
        finally:
            selectors.ledger_aggregates, services.classify, services.snapshot_replace = saved


def cpu_seconds() -> float:
    """CPU time used so far by this process plus its PostgreSQL backend (read from
    /proc: the server runs on this machine). Parallel workers are other processes and
    are not counted."""
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


def run_recompute() -> dict:
    from segmentation.services import segments_recompute

    split = Split()
    cpu, started = cpu_seconds(), time.perf_counter()
    with split.patched():
        run = segments_recompute(as_of=AS_OF, triggered_by="bench")
    total = time.perf_counter() - started
    parts = dict(split.seconds)
    parts["total"] = total
    parts["cpu"] = cpu_seconds() - cpu
    parts["other"] = total - sum(split.seconds.values())
    parts["customers"] = run.customers
    parts["lines"] = run.lines
    return parts


def show(name: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def aggregates_from_lines(*, as_of: date, params):
    """selectors.ledger_aggregates' frame computed straight from the ledger's lines, with
    COUNT(DISTINCT ...) for the days: the reference the day table must reproduce."""
    import pandas as pd
    from django.db import connection

    from segmentation.classification import boundaries, bucket_columns

    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges, ws = bounds.bucket_edges, bounds.window_start
    columns = bucket_columns(params)
    money = "CAST(COALESCE(SUM({expression}) FILTER (WHERE {condition}), 0) * 10000 AS BIGINT)"
    buckets = ", ".join(
        money.format(expression="amount", condition="date > %s AND date <= %s") + f" AS {column}" for column in columns
    )
    sql = f"""
        SELECT customer_id, MIN(date) AS first_date, MAX(date) FILTER (WHERE date > %s) AS last_date_window,
               COUNT(DISTINCT date) FILTER (WHERE date > %s) AS days_window,
               {money.format(expression="COALESCE(cost, 0)", condition="date > %s")} AS cost_window,
               COUNT(*) FILTER (WHERE date > %s) AS lines_p0,
               COUNT(*) FILTER (WHERE date > %s AND date <= %s) AS lines_p1,
               {buckets}, COUNT(*) AS lines_total
        FROM {LEDGER} WHERE date <= %s GROUP BY customer_id
    """
    values = [ws, ws, ws, p1, p2, p1]
    for k in range(len(columns)):
        values += [edges[k + 1], edges[k]]
    values.append(d)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=[c[0] for c in cursor.description])
    for column in ("first_date", "last_date_window"):
        frame[column] = pd.to_datetime(frame[column])
    for column in frame.columns.drop(["customer_id", "first_date", "last_date_window"]):
        frame[column] = frame[column].astype("int64")
    frame["revenue_window"] = frame[columns].sum(axis=1)
    frame["margin_window"] = frame["revenue_window"] - frame.pop("cost_window")
    return frame


def check_day_table_against_lines() -> float:
    """The classification's input from the day table must equal the same columns from
    the ledger's lines, for the default parameters and for 3-month buckets with margin."""
    from segmentation import selectors
    from segmentation.classification import ClassificationParams

    started = time.perf_counter()
    for params in (ClassificationParams(), ClassificationParams(xyz_bucket_months=3, abc_basis="margin")):
        from_days = selectors.ledger_aggregates(as_of=AS_OF, params=params)
        from_lines = aggregates_from_lines(as_of=AS_OF, params=params)[list(from_days.columns)]
        from_days = from_days.sort_values("customer_id", ignore_index=True)
        from_lines = from_lines.sort_values("customer_id", ignore_index=True)
        for column in ("first_date", "last_date_window"):  # the same days, whatever the resolution
            from_days[column] = from_days[column].astype("datetime64[s]")
            from_lines[column] = from_lines[column].astype("datetime64[s]")
        if not from_days.equals(from_lines):
            differ = [c for c in from_days.columns if not from_days[c].equals(from_lines[c])]
            raise AssertionError(f"the day table's aggregate differs from the ledger's lines in {differ}")
    return time.perf_counter() - started


def explain(label: str, sql: str, params=()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall() if "Filter:" not in row[0])
    print(f"\n--- EXPLAIN ANALYZE: {label} ---\n{plan}\n", flush=True)


def aggregate_sql() -> tuple[str, list]:
    """The exact SQL and parameters selectors.ledger_aggregates sends (through the ledger's
    read interface, sales_pipeline.selectors)."""
    from sales_pipeline import selectors as ledger
    from segmentation import selectors
    from segmentation.models import ClassificationSettings

    seen = []
    fetch = ledger._fetch_frame

    def spy(sql, values, **kwargs):
        seen.append((sql, list(values)))
        return fetch(sql, values, **kwargs)

    ledger._fetch_frame = spy
    try:
        selectors.ledger_aggregates(as_of=AS_OF, params=ClassificationSettings.current().as_params())
    finally:
        ledger._fetch_frame = fetch
    return seen[0]


def vacuum_snapshots() -> None:
    """Each run replaces 40,000 snapshot rows; vacuum what earlier runs left dead, as
    autovacuum would between two nights (this machine's server runs without it)."""
    from django.db import connection

    from segmentation.models import CustomerSnapshot

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {CustomerSnapshot._meta.db_table}")


def seconds(values) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def measure(args) -> dict:
    """The bare aggregate and the recompute, interleaved (bare, recompute, bare, ...) so
    that load from elsewhere on the machine hits them alike; one warm-up pass, then
    --repeat timed passes."""
    bare_runs, recompute_runs = [], []
    for attempt in range(args.repeat + 1):
        bare, recompute = run_bare(), run_recompute()
        if attempt:
            bare_runs.append(bare)
            recompute_runs.append(recompute)
    best_bare = min(r["total"] for r in bare_runs)
    best = min(recompute_runs, key=lambda r: r["total"])
    result = {
        "bare_s": best_bare,
        "bare_runs": [r["total"] for r in bare_runs],
        "bare_cpu_s": min(r["cpu"] for r in bare_runs),
        "recompute": best,
        "recompute_runs": [r["total"] for r in recompute_runs],
        "recompute_cpu_s": min(r["cpu"] for r in recompute_runs),
        "ratio": best["total"] / best_bare,
    }
    log(f"  bare aggregate: best {best_bare:.2f} s of {seconds(result['bare_runs'])}; CPU {result['bare_cpu_s']:.2f} s")
    log(
        f"  recompute: best {best['total']:.2f} s = aggregate {best['aggregate']:.2f} + classify "
        f"{best['classify']:.2f} + write {best['write']:.2f} + other {best['other']:.2f}; runs "
        f"{seconds(result['recompute_runs'])}; CPU {result['recompute_cpu_s']:.2f} s; ratio {result['ratio']:.2f}x"
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
            f"{g['indexes_s']:.0f} s, day table {g['days_s']:.1f} s, vacuum analyze {g['vacuum_s']:.0f} s)"
        )
    figures.update(describe_ledger())
    log(
        "Ledger: {lines_in_db:,} lines, {buying:,} buying customers, {days:,} customer-days, {returns:.1%} "
        "negative lines, {with_cost:.1%} with cost, {first} .. {last}; the top 20 % of customers hold "
        "{top20:.0%} of the lines and {top20_revenue:.0%} of the revenue; table {table_mb:,.0f} MB + "
        "indexes {index_mb:,.0f} MB; day table {days_mb:,.0f} MB".format(**figures)
    )
    figures["server"] = {
        name: show(name) for name in ("work_mem", "jit", "max_parallel_workers_per_gather", "shared_buffers")
    }
    figures["check_s"] = check_day_table_against_lines()
    log(f"The day table's aggregate equals the one from the ledger's lines ({figures['check_s']:.0f} s)")
    if args.explain:
        explain("bare aggregate", BARE_SQL)
        explain("selectors.ledger_aggregates", *aggregate_sql())

    vacuum_snapshots()
    figures.update(measure(args))
    figures["peak_rss_mb"] = peak_rss_mb()
    figures["wall_s"] = time.perf_counter() - began
    print()
    print(markdown(figures))
    print(f"\nPeak RSS of this Python process: {figures['peak_rss_mb']:.0f} MB; whole run {figures['wall_s']:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    return 0


def describe_ledger() -> dict:
    """What the generated ledger looks like (two scans)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*), avg((amount < 0)::int), avg((cost IS NOT NULL)::int), min(date), max(date),
                   pg_table_size(%s) / 1048576.0, pg_indexes_size(%s) / 1048576.0,
                   pg_total_relation_size(%s) / 1048576.0
            FROM {LEDGER}
            """,
            [LEDGER, LEDGER, DAYS],
        )
        lines, returns, with_cost, first, last, table_mb, index_mb, days_mb = cursor.fetchone()
        cursor.execute(
            f"""
            WITH per AS (SELECT customer_id, sum(lines) AS n, sum(amount) AS v FROM {DAYS} GROUP BY customer_id),
                 ranked AS (SELECT n, v, row_number() OVER (ORDER BY n DESC) AS by_n,
                                   row_number() OVER (ORDER BY v DESC) AS by_v, count(*) OVER () AS c FROM per)
            SELECT count(*), sum(n) FILTER (WHERE by_n <= c / 5)::float / sum(n),
                   sum(v) FILTER (WHERE by_v <= c / 5)::float / sum(v)
            FROM ranked
            """
        )
        buying, top20, top20_revenue = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {DAYS}")
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
        "days_mb": float(days_mb),
    }


def markdown(figures: dict) -> str:
    """The README's row."""
    r = figures["recompute"]
    header = (
        "| ledger lines | customer-days | bare aggregate | recompute | ratio "
        "| of which: SQL aggregate / classify / snapshot write / other | CPU bare / recompute | peak RSS |"
    )
    row = (
        f"| {figures['lines']:,} | {figures['days']:,} | {figures['bare_s']:.2f} s | {r['total']:.2f} s "
        f"| **{figures['ratio']:.2f}x** | {r['aggregate']:.2f} / {r['classify']:.2f} / {r['write']:.2f} / "
        f"{r['other']:.2f} s | {figures['bare_cpu_s']:.2f} / {figures['recompute_cpu_s']:.2f} s "
        f"| {figures['peak_rss_mb']:.0f} MB |"
    )
    return "\n".join([header, "|" + " ---: |" * 8, row])


if __name__ == "__main__":
    sys.exit(main())
