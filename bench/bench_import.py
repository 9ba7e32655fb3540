#!/usr/bin/env python
"""Time `manage.py import_settlements --create-missing` on N synthetic settlement lines.

    .venv/bin/python bench/bench_import.py [--lines 1000000] [--customers 20000]
        [--products 5000] [--csv /tmp/settlements_1000000.csv] [--setup] [--twice]
        [--fresh] [--repeat N] [--code DIR]

Writes N lines (columns customer,date,product,amount,quantity,cost,document; about one
in ten a negative return; some lines repeated within an invoice) to a CSV, then runs
the import command in a child process against the database of DATABASE_URL (SQLite by
default) and prints the wall time, lines per second and the child's peak RSS
(resource.getrusage(RUSAGE_CHILDREN)). With --twice it imports the file again, which
must create nothing. With --setup and a PostgreSQL DATABASE_URL it first creates the
database if missing (psycopg2) and migrates it, e.g.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_import \\
        .venv/bin/python bench/bench_import.py --setup --twice

Where the time goes: each import's log line "stages (s)" (read file, check values,
references, source keys, create products / customers, prepare lines, lines COPY (chunks
on days without earlier lines, straight into the ledger) or stage COPY and lines INSERT
(the others; either with the foreign-key checks and the day table's trigger), product
usage, commit) is printed, with the CPU seconds of the child process and of its PostgreSQL
backend (from /proc, by the backend's application_name): on a shared machine CPU
seconds move less than wall seconds. --fresh drops and recreates the PostgreSQL database
before every import (an empty ledger each time); --repeat N runs N rounds; --code DIR
runs DIR's manage.py instead (another checkout, e.g. `git archive <commit> | tar -x -C
DIR`, to time the code before a change alternately with this one), on a database
migrated by DIR's own migrations.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def generate(path: Path, *, lines: int, customers: int, products: int, seed: int = 1) -> None:
    """A deterministic synthetic ledger: invoices of about five lines, money with two
    decimals, a tenth of lines negative (returns), dates over two years."""
    rng = np.random.default_rng(seed)
    documents = np.arange(lines) // 5
    invoice_customer = rng.integers(1, customers + 1, documents[-1] + 1)
    invoice_day = rng.integers(0, 730, documents[-1] + 1)
    quantity = rng.integers(1, 25, lines)
    price_cents = rng.integers(10, 50_000, lines)
    sign = np.where(rng.random(lines) < 0.1, -1, 1)
    amount_cents = sign * quantity * price_cents
    cost_cents = (amount_cents * 0.6).astype(np.int64)
    frame = pd.DataFrame(
        {
            "customer": pd.Series(invoice_customer[documents]).map("C{:06d}".format),
            "date": (np.datetime64("2024-01-01") + invoice_day[documents]).astype(str),
            "product": pd.Series(rng.integers(1, products + 1, lines)).map("SKU{:05d}".format),
            "amount": _money(amount_cents),
            "quantity": sign * quantity,
            "cost": _money(cost_cents),
            "document": pd.Series(documents).map("INV{:07d}".format),
        }
    )
    # The same product twice on one invoice: legitimate identical lines.
    repeat = np.flatnonzero(rng.random(lines) < 0.005)
    repeat = repeat[repeat % 5 != 0]
    frame.iloc[repeat] = frame.iloc[repeat - 1].to_numpy()
    frame.to_csv(path, index=False)


def _money(cents: np.ndarray) -> pd.Series:
    whole, rest = np.divmod(np.abs(cents), 100)
    text = pd.Series(whole).astype(str) + "." + pd.Series(rest).astype(str).str.zfill(2)
    return text.where(cents >= 0, "-" + text)


def setup_postgresql(url: str, code: Path = ROOT) -> None:
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")
    admin.close()
    # Each checkout's own migrations: the schema the code was written for (indexes differ).
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=code, check=True)


def _backend_cpu(url: str, name: str) -> float | None:
    """CPU seconds (user + system) of the PostgreSQL backends named `name`, from /proc."""
    import psycopg2

    parts = urlparse(url)
    try:
        conn = psycopg2.connect(
            host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password,
            dbname=parts.path.lstrip("/"),
        )  # fmt: skip
    except psycopg2.Error:
        return None
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
        pids = [row[0] for row in cursor.fetchall()]
    conn.close()
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_import(path: Path, code: Path = ROOT) -> tuple[float, str]:
    # Measured as in production: DEBUG off (no SQL recorded per query).
    name = f"bench_import_{os.getpid()}_{time.monotonic_ns()}"
    url = os.environ.get("DATABASE_URL", "")
    env = {"DEBUG": "false", "SECRET_KEY": "bench-only-" + "x" * 50, **os.environ, "PGAPPNAME": name}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    child = subprocess.Popen(
        [PYTHON, "manage.py", "import_settlements", str(path), "--create-missing"],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    backend_cpu = None
    if url.startswith("postgres"):
        # The backend lives as long as the child's connection: sample it until the end.
        while child.poll() is None:
            backend_cpu = _backend_cpu(url, name) or backend_cpu
            time.sleep(0.5)
    stdout, stderr = child.communicate()
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode:
        sys.stderr.write(stderr[-5000:])
        raise SystemExit(f"import failed with exit code {child.returncode}")
    python_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    lines = stderr.splitlines()
    phases = [line.split("; seconds ", 1)[1] for line in lines if "; seconds {" in line]
    stages = [line.split("stages (s): ", 1)[1] for line in lines if "stages (s): {" in line]
    summary = stdout.strip() + (f"\n  phases (s): {phases[-1]}" if phases else "")
    summary += f"\n  stages (s): {stages[-1]}" if stages else ""
    summary += f"\n  CPU (s): command {python_cpu:.1f}" + (
        f", PostgreSQL backend {backend_cpu:.1f} (sampled every 0.5 s)" if backend_cpu is not None else ""
    )
    return seconds, summary


def drop_postgresql(url: str) -> None:
    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--setup", action="store_true", help="create (PostgreSQL) and migrate the database first")
    parser.add_argument("--twice", action="store_true", help="import the same file again (must create nothing)")
    parser.add_argument("--fresh", action="store_true", help="PostgreSQL: recreate the database before each round")
    parser.add_argument("--repeat", type=int, default=1, help="rounds")
    parser.add_argument("--code", type=Path, action="append", default=None,
                        help="a checkout whose manage.py to run; repeat it to alternate between checkouts")  # fmt: skip
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "sqlite (default)")
    if args.setup and url.startswith("postgres"):
        setup_postgresql(url)
    elif args.setup:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    path = args.csv or Path(f"/tmp/settlements_{args.lines}.csv")
    if not path.exists():
        started = time.monotonic()
        generate(path, lines=args.lines, customers=args.customers, products=args.products)
        print(f"generated {path} ({path.stat().st_size / 1024**2:,.0f} MB) in {time.monotonic() - started:.1f} s")

    print(f"database: {url}")
    rounds = ["first import", "same file again"] if args.twice else ["first import"]
    for repeat in range(args.repeat):
        for code in args.code or [ROOT]:
            if args.fresh and url.startswith("postgres"):
                drop_postgresql(url)
                setup_postgresql(url, code)
            for label in rounds:
                seconds, summary = run_import(path, code)
                peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                load = os.getloadavg()[0]
                rate = args.lines / seconds
                print(f"[{repeat + 1}] {code}: {label}: {seconds:.1f} s, {rate:,.0f} lines/s, "
                      f"peak RSS {peak_mb:,.0f} MB, load {load:.1f}")  # fmt: skip
                print(f"  {summary}", flush=True)


if __name__ == "__main__":
    main()
