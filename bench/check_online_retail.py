#!/usr/bin/env python
"""Import the UCI Online Retail data, classify it as of 2011-12-09, and check every
customer against an independent computation straight from the parquet.

    .venv/bin/python bench/check_online_retail.py [--sqlite] [--database crm_online_retail]
        [--as-of 2011-12-09] [--keep] [--source PATH]

Steps, each timed, on a fresh database (PostgreSQL by default, dropped and recreated;
--sqlite: a temporary SQLite file):

  1. bench/online_retail_to_csv.py's convert(): the parquet -> a settlement CSV;
  2. manage.py import_settlements CSV --create-missing;
  3. manage.py recompute_segments --as-of D;
  4. manage.py export_segments OUT.csv --as-of D;
  5. bench/independent_classification.py on the parquet read again with pyarrow (its
     own reading: amount = Quantity x Decimal(repr(UnitPrice)), date = the calendar
     date of InvoiceDate), with the default parameters (W=12, P=3, revenue basis,
     50/80, monthly buckets, 10/25);
  6. every column of every customer compared: status, abc, xyz, revenue and monetary
     exactly, cov within 1e-9, recency, frequency, r, f, m, rfm_segment.

Exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.independent_classification import (  # noqa: E402
    COLUMNS,
    classify_lines,
    compare,
    counts,
    parse_export_row,
)

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "online-retail" / "online_retail.parquet"
AS_OF = date(2011, 12, 9)


def read_lines(source: Path, customers: set[str] | None = None) -> list[tuple[str, date, Decimal]]:
    """(customer, date, exact amount) for every invoice line with a CustomerID; only the
    given customers when `customers` is set. Read with pyarrow, not through the converter."""
    import pyarrow.parquet as pq

    table = pq.read_table(source, columns=["Quantity", "InvoiceDate", "UnitPrice", "CustomerID"])
    quantity = table.column("Quantity").to_pylist()
    moment = table.column("InvoiceDate").to_pylist()
    price = table.column("UnitPrice").to_pylist()
    customer = table.column("CustomerID").to_pylist()
    exact_price: dict[float, Decimal] = {}
    lines = []
    for q, t, p, c in zip(quantity, moment, price, customer, strict=True):
        if c is None:
            continue
        key = str(int(c))
        if customers is not None and key not in customers:
            continue
        if p not in exact_price:
            # repr: the shortest decimal that reads back as this float, i.e. the published price
            exact_price[p] = Decimal(repr(p))
        lines.append((key, t.date(), q * exact_price[p]))
    return lines


def read_export(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["customer"]: parse_export_row(row) for row in csv.DictReader(handle)}


def tie_order() -> dict[str, int]:
    """external_ref -> database id: the product breaks ABC ties by customer id."""
    from customers.models import Customer

    return dict(Customer.objects.exclude(external_ref=None).values_list("external_ref", "pk"))


def summary(title: str, tally: dict) -> str:
    return f"{title}: " + ", ".join(f"{key} {value:,}" for key, value in tally.items())


def setup(args, workdir: Path, sqlite_name: str = "online_retail.sqlite3") -> str:
    """A fresh database (PostgreSQL `args.database`, or a SQLite file in `workdir`) and
    Django set up on it; returns its URL."""
    if args.sqlite:
        url = f"sqlite:///{workdir / sqlite_name}"
    else:
        import psycopg2

        conn = psycopg2.connect(host=args.host, port=args.port, user=args.user, dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{args.database}"')
        conn.close()
        url = f"postgres://{args.user}@{args.host}:{args.port}/{args.database}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_project.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    return url


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--as-of", type=date.fromisoformat, default=AS_OF)
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--database", default="crm_online_retail", help="PostgreSQL database (dropped, recreated)")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory (CSV files)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"No parquet at {args.source}", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="online_retail_check_"))
    timings: dict[str, float] = {}

    def step(name, function, *a, **kw):
        started = time.perf_counter()
        result = function(*a, **kw)
        timings[name] = time.perf_counter() - started
        print(f"  {name}: {timings[name]:.1f} s", flush=True)
        return result

    url = step("create the database", setup, args, workdir)
    from django.core.management import call_command

    step("migrate", call_command, "migrate", verbosity=0)
    print(f"Database: {url.split('@')[-1]}; work directory {workdir}", flush=True)

    from bench.online_retail_to_csv import convert

    settlements = workdir / "online_retail_settlements.csv"
    frame = step("convert the parquet to CSV (online_retail_to_csv)", convert, args.source)
    step("write the CSV", frame.to_csv, settlements, index=False)
    step(
        "import_settlements --create-missing",
        call_command,
        "import_settlements",
        str(settlements),
        create_missing=True,
        verbosity=0,
    )
    as_of = f"--as-of={args.as_of}"
    step(f"recompute_segments {as_of}", call_command, "recompute_segments", as_of)
    exported = workdir / "segments.csv"
    step(f"export_segments {as_of}", call_command, "export_segments", str(exported), as_of)

    actual = step("read the export", read_export, exported)
    lines = step("read the parquet again (independently)", read_lines, args.source)
    expected = step("independent classification", classify_lines, lines, as_of=args.as_of, tie_order=tie_order())
    mismatches = step("compare", compare, expected, actual)

    from sales_pipeline.models import SettlementLine

    ledger_lines = SettlementLine.objects.count()
    ledger_total = sum(SettlementLine.objects.values_list("amount", flat=True).iterator(20_000))
    parquet_total = sum((amount for _, _, amount in lines), Decimal(0))
    print()
    print(f"Lines: parquet {len(lines):,}, ledger {ledger_lines:,}")
    print(f"Sum of amounts: parquet {parquet_total}, ledger {ledger_total}")
    print(f"Customers: independent {len(expected):,}, export {len(actual):,}")
    for column in ("status", "abc", "xyz", "rfm_segment"):
        print(summary(f"  {column} (export)", counts(actual, column)))
        if counts(expected, column) != counts(actual, column):
            print(summary(f"  {column} (independent)", counts(expected, column)))
    cells = Counter((row["abc"] or "-") + (row["xyz"] or "-") for row in actual.values())
    print(summary("  ABC/XYZ cells", dict(sorted(cells.items()))))
    print(f"Mismatches: {len(mismatches)} ({len(expected):,} customers x {len(COLUMNS)} columns compared)")
    for customer, column, want, got in mismatches[:30]:
        print(f"  {customer} {column}: independent {want!r}, product {got!r}")
    problems = len(mismatches) + (ledger_lines != len(lines)) + (ledger_total != parquet_total)
    print()
    print("| step | seconds |")
    print("| --- | --- |")
    for name, seconds in timings.items():
        print(f"| {name} | {seconds:.1f} |")
    if not args.keep:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
