#!/usr/bin/env python
"""Rows and bytes of the classification history per simulated year (issue 15, item 5).

    .venv/bin/python bench/bench_snapshots.py [--database crm_bench_snapshots]
        [--customers 40000] [--days 365] [--change-rate 0.01] [--start 2025-01-01]

Creates the database (dropped first if it exists; user postgres at 127.0.0.1:5432 or
PGHOST/PGPORT/PGUSER), migrates it and makes --customers customers, then plays --days
nights. Each night writes a classification of every customer through the real write
path, `services.snapshot_replace` (the full snapshot by COPY, and the class intervals by
class_history's SQL, one transaction), marks the run done as the recompute does, and runs
the nightly retention step `services.snapshots_prune`. The classes are simulated, not
computed from a ledger (the recompute's cost is bench_recompute.py's subject): each
night a --change-rate share of the customers (binomial) gets one of its four classes
(status, ABC, XYZ, activity segment) changed; the figures (value, CoV, recency, ...)
change every night as they do in reality.

Reported: the rows and bytes (pg_total_relation_size after VACUUM FULL: table, indexes
and TOAST) of the full snapshots and of the intervals at the end; the same for the
earlier design, where every nightly snapshot stayed (rows = customers x nights; bytes =
those rows at the bytes per row the snapshot table measured); and the median seconds of
a nightly write and of the retention step. Then checks, for 20 random past nights, that
`selectors.classes_as_of` answers exactly what was written that night.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATUSES = np.array(["potential", "new", "regular", "restored", "lost"])
ABC = np.array(["A", "B", "C", ""])
XYZ = np.array(["X", "Y", "Z", ""])
SEGMENTS = np.array(["newcomer", "one-time", "vip", "growing", "sleeping", ""])


def dsn(database: str) -> str:
    host, port = os.environ.get("PGHOST", "127.0.0.1"), os.environ.get("PGPORT", "5432")
    return f"postgres://{os.environ.get('PGUSER', 'postgres')}@{host}:{port}/{database}"


def recreate(database: str) -> None:
    conn = psycopg2.connect(dsn("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{database}"')
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="crm_bench_snapshots")
    parser.add_argument("--customers", type=int, default=40_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--change-rate", type=float, default=0.01, help="share of customers changing a class a night")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    recreate(args.database)
    os.environ["DATABASE_URL"] = dsn(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from customers.models import Customer
    from segmentation import selectors, services
    from segmentation.models import ClassInterval, CustomerSnapshot, RecomputeRun

    call_command("migrate", verbosity=0)
    Customer.objects.bulk_create(
        (Customer(name=f"Bench customer {i}", external_ref=f"BENCH{i:07d}") for i in range(args.customers)),
        batch_size=5_000,
    )
    ids = np.array(sorted(Customer.objects.values_list("pk", flat=True)))
    rng = np.random.default_rng(args.seed)
    n = len(ids)
    state = {
        "status": rng.integers(0, len(STATUSES), n),
        "abc": rng.integers(0, len(ABC), n),
        "xyz": rng.integers(0, len(XYZ), n),
        "rfm_segment": rng.integers(0, len(SEGMENTS), n),
    }
    choices = {"status": STATUSES, "abc": ABC, "xyz": XYZ, "rfm_segment": SEGMENTS}
    written: dict[date, pd.DataFrame] = {}
    check_days = set(random.Random(args.seed).sample(range(args.days), min(20, args.days)))
    write_seconds, prune_seconds, changes = [], [], 0
    for night in range(args.days):
        as_of = args.start + timedelta(days=night)
        if night:
            moved = np.flatnonzero(rng.random(n) < args.change_rate)
            fields = rng.integers(0, 4, len(moved))
            for k, name in enumerate(state):
                who = moved[fields == k]
                state[name][who] = (state[name][who] + rng.integers(1, len(choices[name]), len(who))) % len(
                    choices[name]
                )
            changes += len(moved)
        classes = pd.DataFrame(
            {
                "status": STATUSES[state["status"]],
                "abc": ABC[state["abc"]],
                "xyz": XYZ[state["xyz"]],
                "value": rng.integers(0, 10**9, n),
                "cov": rng.random(n),
                "recency": rng.integers(0, 400, n),
                "frequency": rng.integers(0, 50, n),
                "monetary": rng.integers(0, 10**8, n),
                "r": rng.integers(1, 6, n),
                "f": rng.integers(1, 6, n),
                "m": rng.integers(1, 6, n),
                "rfm_segment": SEGMENTS[state["rfm_segment"]],
                "cooperation_days": rng.integers(0, 3000, n),
            },
            index=pd.Index(ids, name="customer_id"),
        )
        for column in ("abc", "xyz", "rfm_segment"):
            classes[column] = classes[column].replace("", None)
        if night in check_days:
            written[as_of] = classes[["status", "abc", "xyz", "rfm_segment"]].fillna("").copy()
        started = time.perf_counter()
        services.snapshot_replace(as_of=as_of, classes=classes)
        RecomputeRun.objects.update_or_create(as_of=as_of, defaults={"status": RecomputeRun.Status.DONE})
        write_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.snapshots_prune(today=as_of)
        prune_seconds.append(time.perf_counter() - started)
        if night % 30 == 29:
            print(f"night {night + 1}: write {statistics.median(write_seconds[-30:]):.2f} s", flush=True)

    for as_of, want in written.items():
        rows = selectors.classes_as_of(as_of).values_list("customer_id", "status", "abc", "xyz", "rfm_segment")
        got = pd.DataFrame(list(rows), columns=["customer_id", "status", "abc", "xyz", "rfm_segment"])
        got = got.set_index("customer_id").sort_index()
        if not got.equals(want.sort_index()):
            raise SystemExit(f"classes_as_of({as_of}) differs from what was written that night")

    with connection.cursor() as cursor:
        sizes = {}
        for model in (CustomerSnapshot, ClassInterval):
            table = model._meta.db_table
            cursor.execute(f"VACUUM FULL {table}")
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            sizes[model.__name__] = cursor.fetchone()
    snap_rows, snap_bytes = sizes["CustomerSnapshot"]
    interval_rows, interval_bytes = sizes["ClassInterval"]
    per_row = snap_bytes / snap_rows
    before_rows = n * args.days
    after_bytes = snap_bytes + interval_bytes
    mb = 1024**2
    print(f"{n:,} customers, {args.days} nights from {args.start}, {changes:,} class changes "
          f"({args.change_rate:.1%} of customers a night)")  # fmt: skip
    print(f"checked: classes_as_of equals what was written on {len(written)} random nights")
    print("| store | rows | MB |")
    print("| --- | ---: | ---: |")
    print(f"| before: a full snapshot every night, kept | {before_rows:,} | {before_rows * per_row / mb:,.0f} |")
    print(f"| after: full snapshots (window + month ends) | {snap_rows:,} | {snap_bytes / mb:,.0f} |")
    print(f"| after: class intervals | {interval_rows:,} | {interval_bytes / mb:,.0f} |")
    print(f"| after: total | {snap_rows + interval_rows:,} | {after_bytes / mb:,.0f} |")
    print(f"bytes per snapshot row {per_row:.0f}, per interval row {interval_bytes / max(interval_rows, 1):.0f}")
    print(f"nightly write median {statistics.median(write_seconds):.2f} s, "
          f"retention median {statistics.median(prune_seconds):.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
