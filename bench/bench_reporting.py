#!/usr/bin/env python
"""Median server time and query count of the reporting pages at 50,000 customers,
200,000 deals and 4,000,000 settlement lines on PostgreSQL (issue 12: target < 150 ms).

    .venv/bin/python bench/bench_reporting.py [--database crm_bench_reporting] [--reuse]
        [--lines 4000000] [--customers 40000] [--deal-customers 10000] [--deals 200000] [--repeats 11]

Builds the data with the other benches' loaders: bench_recompute.generate (40,000
customers and the 4M-line ledger, made on the server, over the 30 months to 31 Mar 2026)
and bench_deals.seed (10,000 more customers with 200,000 deals, three managers in two
teams and a director). The ledger's customers are then spread over the three managers,
each line recorded for its customer's manager, and the products put in five lines.

Then it fills the KPI rows of Q1 2026 and of Q4 2025 (the previous period, for the
dashboard's deltas) as the nightly job does, timed, and requests each page through
Django's test client (in-process: server time without network) as the director and as
a manager: a warm-up, then --repeats timed requests; prints a Markdown table of the median
wall time, the query count, and (the machine is shared: wall time waits for the CPU) the
median CPU time of this Python process and the median time its SQL took.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_recompute  # noqa: E402

START, END = date(2026, 1, 1), date(2026, 3, 31)
PREVIOUS = (date(2025, 10, 1), date(2025, 12, 31))
QUERY = f"start={START}&end={END}"
PAGES = [
    ("dashboard", f"/reports/?{QUERY}"),
    ("KPI table by manager", f"/reports/kpis/?{QUERY}"),
    ("KPI table by customer", f"/reports/kpis/customers/?{QUERY}"),
    ("drill-down: lost, total", f"/reports/kpis/behind/?{QUERY}&kpi=lost&row=all"),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="crm_bench_reporting")
    parser.add_argument("--lines", type=int, default=4_000_000)
    parser.add_argument("--customers", type=int, default=40_000, help="customers of the ledger")
    parser.add_argument("--deal-customers", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--reuse", action="store_true", help="keep an already built database")
    parser.add_argument("--no-fill", action="store_true", help="with --reuse: measure the rows already filled")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    return parser.parse_args(argv)


def build(args) -> None:
    from django.db import connection

    from bench import bench_deals

    # Deals first: bench_deals.seed deals to every customer there is, with its manager.
    bench_recompute.log("seeding deals (bench_deals.seed)")
    bench_deals.seed(args.deals, args.deal_customers)
    bench_recompute.log("generating the ledger (bench_recompute.generate)")
    bench_recompute.generate(args)
    bench_recompute.log("assigning managers and product lines")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM auth_user WHERE username LIKE 'bench_manager%%' ORDER BY username")
        managers = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "UPDATE customers_customer SET manager_id = (ARRAY[%s, %s, %s])[1 + id %% 3] "
            "WHERE external_ref LIKE 'BENCH%%'",
            managers,
        )
        cursor.execute(
            "UPDATE sales_pipeline_settlementline AS l SET manager_id = c.manager_id "
            "FROM customers_customer AS c WHERE c.id = l.customer_id"
        )
        cursor.execute("SELECT id FROM customers_productline ORDER BY id")
        lines = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "UPDATE customers_product SET line_id = (ARRAY[%s, %s, %s, %s, %s])[1 + id %% 5] WHERE sku LIKE 'BENCH%%'",
            lines[:5],
        )
        cursor.execute("VACUUM ANALYZE")


def fill() -> dict[str, float]:
    from reporting.services import kpi_period_fill

    seconds = {}
    for start, end in [(START, END), PREVIOUS]:
        started = time.perf_counter()
        period = kpi_period_fill(start=start, end=end)
        took = seconds[f"{start}..{end}"] = time.perf_counter() - started
        bench_recompute.log(f"filled {start}..{end}: {period.customers:,} customers in {took:.1f} s (snapshots too)")
    return seconds


def measure(username: str, repeats: int) -> dict[str, tuple[float, int]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    results = {}
    for label, url in PAGES:
        client.get(url)  # warm-up
        times, cpu, sql = [], [], []
        for _ in range(repeats):
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
            sql.append(sum(float(q["time"]) for q in queries.captured_queries))
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        results[label] = (statistics.median(times) * 1000, len(queries), statistics.median(cpu) * 1000,
                          statistics.median(sql) * 1000)  # fmt: skip
        print(f"{username:15} {label:30} {results[label][0]:8.1f} ms {results[label][1]:4d} queries "
              f"(Python CPU {results[label][2]:.1f} ms, SQL {results[label][3]:.1f} ms)", flush=True)  # fmt: skip
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.reuse:
        bench_recompute.recreate_database(args)
    bench_recompute.setup_django(args, debug=True)
    bench_recompute.migrate()
    from sales_pipeline.models import SettlementLine

    if not args.reuse:
        build(args)
    lines = SettlementLine.objects.count()
    from customers.models import Customer
    from sales_pipeline.models import Deal

    print(f"{Customer.objects.count():,} customers, {Deal.objects.count():,} deals, {lines:,} settlement lines")
    fills = {} if args.no_fill else fill()
    director = measure("bench_director", args.repeats)
    manager = measure("bench_manager0", args.repeats)
    print()
    print("| page | director | manager | queries | director: Python CPU, SQL |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, _url in PAGES:
        wall, queries, cpu, sql = director[label]
        print(f"| {label} | {wall:.0f} ms | {manager[label][0]:.0f} ms | {queries} / {manager[label][1]} | "
              f"{cpu:.0f} ms, {sql:.0f} ms |")  # fmt: skip
    for name, seconds in fills.items():
        print(f"| fill {name} (nightly) | {seconds:.1f} s | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
