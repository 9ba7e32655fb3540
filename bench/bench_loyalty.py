"""Loyalty at scale on PostgreSQL: the nightly accrual of 100,000 settlement lines (one
INSERT ... SELECT, ON CONFLICT DO NOTHING) and the points liability report over the
entries it leaves.

    python bench/bench_loyalty.py [--lines 100000] [--customers 20000] [--database crm_bench_loyalty] [--repeats 3]

It creates and migrates its own database, then seeds customers, a bonus-points program
(one product line earning at its own rate), one card per customer and the lines, dated
over the last seven days with 2 % of them refunds (negative). Each timed pass starts from
an empty points ledger: the accrual (positive lines inserted set-based, negative lines
reversed, balances rewritten from the ledger), then the same accrual again (every line
already counted: nothing to write), then the liability report (outstanding points and
value, expiring within 30/60/90 days) and the measures page as the administrator.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def create_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')


def backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def backend_cpu(pid: int) -> float:
    """CPU seconds (user + system) the PostgreSQL backend has used, from /proc (same machine):
    on a machine shared with other work, wall time also counts the waits for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(lines: int, customers: int, today) -> None:
    from customers.models import Customer, Product, ProductLine
    from loyalty import luhn
    from loyalty.models import Card, LineEarnRate, Program
    from sales_pipeline.models import SettlementLine

    rng = random.Random(13)
    Customer.objects.bulk_create(
        [Customer(name=f"Bench {i}", external_ref=f"B{i:06d}") for i in range(customers)], batch_size=5000
    )
    events, goods = ProductLine.objects.create(name="Events"), ProductLine.objects.create(name="Goods")
    products = [
        Product.objects.create(sku=f"P{i}", name=f"Product {i}", line=(events if i < 3 else goods)) for i in range(10)
    ]
    program = Program.objects.create(
        name="Bench bonus",
        kind=Program.Kind.POINTS,
        earn_rate=Decimal("0.1"),
        point_value=Decimal("0.05"),
        expiry_days=365,
    )
    LineEarnRate.objects.create(program=program, product_line=events, earn_rate=Decimal("0.25"))
    ids = list(Customer.objects.values_list("pk", flat=True))
    Card.objects.bulk_create(
        [
            Card(number=luhn.card_number("7", pk), program=program, holder_id=pk, issued_on=today - timedelta(days=400))
            for pk in ids
        ],
        batch_size=5000,
    )
    batch = []
    for i in range(lines):
        amount = Decimal(rng.randint(100, 500_000)) / 100
        if rng.random() < 0.02:
            amount = -amount / 4
        batch.append(
            SettlementLine(
                date=today - timedelta(days=rng.randint(0, 6)),
                customer_id=rng.choice(ids),
                product=rng.choice(products),
                amount=amount,
                source_key=f"bench:{i}",
            )
        )
        if len(batch) == 20_000:
            SettlementLine.objects.bulk_create(batch)
            batch = []
    SettlementLine.objects.bulk_create(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--database", default="crm_bench_loyalty")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument(
        "--explain",
        type=float,
        metavar="SECONDS",
        help="print the plan (auto_explain, with row counts) of every statement slower than this",
    )
    args = parser.parse_args()

    create_database(args.database)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from crm_project.dates import business_today
    from loyalty import selectors, services
    from loyalty.models import Card, PointsEntry
    from sales_pipeline.models import SettlementLine

    call_command("migrate", verbosity=0)
    today = business_today()
    started = time.perf_counter()
    if not (args.reuse and SettlementLine.objects.count() >= args.lines):
        call_command("flush", interactive=False, verbosity=0)
        seed(args.lines, args.customers, today)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have, long before a nightly run
    print(
        f"seeded {SettlementLine.objects.count():,} lines, {Card.objects.count():,} cards "
        f"in {time.perf_counter() - started:.1f} s"
    )
    get_user_model().objects.filter(username="bench_admin").delete()
    admin = get_user_model().objects.create_superuser("bench_admin", password="x" * 12)
    client = Client()
    client.force_login(admin)
    timings: dict[str, list[float]] = {"accrual": [], "accrual again": [], "liability": [], "measures page": []}
    cpu: list[float] = []
    for number in range(1, args.repeats + 1):
        if args.explain is not None:
            # auto_explain in this session only (the test client's request closes the
            # connection: set again each pass); its LOG lines come back as notices.
            with connection.cursor() as cursor:
                cursor.execute("LOAD 'auto_explain'")
                cursor.execute(f"SET auto_explain.log_min_duration = {int(args.explain * 1000)}")
                cursor.execute("SET auto_explain.log_analyze = on")
                cursor.execute("SET auto_explain.log_timing = off")
                cursor.execute("SET auto_explain.log_nested_statements = on")
                cursor.execute("SET client_min_messages = log")
        # A fresh ledger each pass. TRUNCATE and VACUUM: a DELETE would leave every pass's
        # 100,000 dead entries in the table and its indexes (this server runs without
        # autovacuum), and each pass would probe more of them than the last. ANALYZE then
        # tells the planner the ledger is empty: the first night, the worst case for plans.
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {PointsEntry._meta.db_table}")
        Card.objects.update(balance=0)
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {Card._meta.db_table}, {PointsEntry._meta.db_table}")
        backend = backend_pid(connection)
        t, cpu_before = time.perf_counter(), time.process_time() + backend_cpu(backend)
        with CaptureQueriesContext(connection) as statements:
            result = services.points_accrue(start=today - timedelta(days=7), end=today)
        timings["accrual"].append(time.perf_counter() - t)
        cpu.append(time.process_time() + backend_cpu(backend) - cpu_before)
        # Where the time went: the slowest statements (Django's own timing of each).
        slowest = sorted(statements.captured_queries, key=lambda q: -float(q["time"]))[:4]
        split = ", ".join(f"{float(q['time']):.2f} s {q['sql'].split()[0]}…{q['sql'][-40:].strip()!r}" for q in slowest)
        took = timings["accrual"][-1]
        print(
            f"pass {number}: accrual {took:.2f} s, CPU {cpu[-1]:.2f} s ({len(statements)} statements: {split})",
            flush=True,
        )
        if args.explain is not None:
            for notice in connection.connection.notices:
                print(notice)
            connection.connection.notices.clear()
        t = time.perf_counter()
        again = services.points_accrue(start=today - timedelta(days=7), end=today)
        timings["accrual again"].append(time.perf_counter() - t)
        assert again.accrued == 0 and again.reversed == 0
        t = time.perf_counter()
        liability = selectors.liability(user=admin, today=today)
        timings["liability"].append(time.perf_counter() - t)
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/loyalty/measures/").status_code == 200
        timings["measures page"].append(time.perf_counter() - t)
    assert services.balance_drift() == []
    print(
        f"\n{result.accrued:,} accruals and {result.reversed:,} reversals from {args.lines:,} lines; "
        f"{PointsEntry.objects.count():,} entries; liability {liability.points:,} points = {liability.value}; "
        f"measures page {len(queries)} queries. PostgreSQL, median of {args.repeats}:\n"
    )
    print("| step | median | min | max |")
    print("| --- | ---: | ---: | ---: |")
    for label, values in timings.items():
        print(f"| {label} | {statistics.median(values):.2f} s | {min(values):.2f} s | {max(values):.2f} s |")
    print(
        f"| accrual, CPU (Python + its PostgreSQL backend) | {statistics.median(cpu):.2f} s | {min(cpu):.2f} s "
        f"| {max(cpu):.2f} s |"
    )
    print(f"\nEvery pass's accrual: {', '.join(f'{v:.2f}' for v in timings['accrual'])} s")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
