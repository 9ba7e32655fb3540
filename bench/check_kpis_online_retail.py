#!/usr/bin/env python
"""The KPI tables on real data, checked against an independent computation.

    .venv/bin/python bench/check_kpis_online_retail.py [--sqlite] [--database crm_kpis_retail] [--keep]

Loads both Online Retail files (../shared/data/online-retail/: the 2009-2010 sheet up to
30 Nov 2010, then the 2010-2011 file, whose first nine days repeat the other's) into a
fresh database, with:

* managers and teams: team UK = uk_a (UK customers with an even id) and uk_b (odd), team
  Export = export (customers outside the UK); customers whose id ends in 3 stay in the
  unassigned pool;
* customers through `import_customers` with `created` (the date of first contact): the
  first invoice day minus (id mod 90) days (the first invoice day itself when id is a
  multiple of 7), plus 300 prospects without any line created through 2011;
* product lines: a StockCode's first two characters when they are digits ("22", "84"),
  no line otherwise (POST, DOT, M, ...: the "no line" line);
* settlement lines through `import_settlements`: invoices whose number ends in 7 are
  recorded for `export` (a line recorded for another manager); every other line has no
  manager in the file and gets the customer's manager at import time.

Then `export_kpis` by manager and by customer for several periods, each compared cell by
cell with a computation written here from the parquet files in plain Python and pandas,
sharing nothing with the app but the lifecycle/ABC/XYZ classification of
bench/independent_classification.py (itself independent of the app). Exits 1 on any
mismatch.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import check_online_retail  # noqa: E402
from bench.independent_classification import classify_lines  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "online-retail"
PERIODS = [
    (date(2011, 7, 1), date(2011, 9, 30)),  # Q3 2011
    (date(2011, 10, 1), date(2011, 12, 9)),  # the next period: each change counted once across the two
    (date(2011, 1, 1), date(2011, 12, 9)),
    (date(2010, 12, 1), date(2010, 12, 31)),  # the month both files hold
]
PROSPECTS = 300
MANAGERS = {"uk_a": "UK", "uk_b": "UK", "export": "Export"}
MANAGER_COLUMNS = [
    "manager", "potential", "primary_customers", "primary_amount", "repeat_customers", "repeat_amount",
    "new_direction_customers", "new_direction_amount", "created", "converted", "conversion", "regular", "new",
    "restored", "lost", "class_changes",
]  # fmt: skip
CUSTOMER_COLUMNS = [
    "customer", "manager", "status_start", "status_end", "abc_start", "abc_end", "xyz_start", "xyz_end",
    "primary_amount", "repeat_amount", "new_direction_amount",
]  # fmt: skip


#
# The data, read with pandas (both files), as plain Python rows
#


def read_invoices() -> pd.DataFrame:
    old = pd.read_parquet(DATA / "online_retail_ii_2009_2010.parquet")
    old = old.rename(columns={"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"})
    old["InvoiceDate"] = pd.to_datetime(old["InvoiceDate"])
    old = old[old["InvoiceDate"] < "2010-12-01"]
    new = pd.read_parquet(DATA / "online_retail.parquet")
    data = pd.concat([old, new], ignore_index=True)
    data = data[data["CustomerID"].notna()].copy()
    data["customer"] = data["CustomerID"].astype("int64")
    data["day"] = data["InvoiceDate"].dt.date
    prices = {p: Decimal(repr(float(p))) for p in data["UnitPrice"].unique().tolist()}
    data["amount"] = [q * prices[p] for q, p in zip(data["Quantity"].tolist(), data["UnitPrice"].tolist(), strict=True)]
    code = data["StockCode"].astype(str)
    data["line"] = code.str[:2].where(code.str[:2].str.isdigit(), "")
    data["InvoiceNo"] = data["InvoiceNo"].astype(str)
    return data


def customer_manager(cid: int, country: str) -> str:
    if cid % 10 == 3:
        return ""
    if country == "United Kingdom":
        return "uk_a" if cid % 2 == 0 else "uk_b"
    return "export"


def build_customers(data: pd.DataFrame) -> dict[str, dict]:
    """ref -> {manager, created} for every customer with lines and every prospect."""
    firsts = data.groupby("customer").agg(first=("day", "min"), country=("Country", "first"))
    customers = {}
    for cid, row in firsts.iterrows():
        offset = 0 if cid % 7 == 0 else cid % 90
        customers[str(cid)] = {"manager": customer_manager(cid, row["country"]),
                               "created": row["first"] - timedelta(days=offset)}  # fmt: skip
    names = ["uk_a", "uk_b", "export", ""]
    for i in range(PROSPECTS):
        customers[f"P{i:04d}"] = {
            "manager": names[i % 4],
            "created": date(2011, 1, 1) + timedelta(days=i * 343 // PROSPECTS),
        }
    return customers


def line_manager(invoice: str, customer_manager_name: str) -> str:
    return "export" if invoice.endswith("7") else customer_manager_name


#
# The independent KPIs
#


def expected_tables(data, customers, tie_order, start: date, end: date):
    lines = list(zip(data["customer"].astype(str), data["day"], data["amount"], data["line"], data["InvoiceNo"],
                     strict=True))  # fmt: skip
    upto = [ln for ln in lines if ln[1] <= end]
    first_day, first_in_line = {}, {}
    for c, d, _a, pl, _inv in upto:
        if c not in first_day or d < first_day[c]:
            first_day[c] = d
        if (c, pl) not in first_in_line or d < first_in_line[(c, pl)]:
            first_in_line[(c, pl)] = d

    def classes(as_of):
        without = [c for c, v in customers.items() if v["created"] <= as_of]
        return classify_lines(((c, d, a) for c, d, a, _pl, _inv in lines), as_of=as_of, tie_order=tie_order,
                              customers_without_lines=without)  # fmt: skip

    at_start, at_end = classes(start - timedelta(days=1)), classes(end)
    facts = []  # (customer, manager, kpi, amount)
    per_customer = defaultdict(lambda: {"primary": Decimal(0), "repeat": Decimal(0), "new_direction": Decimal(0)})
    for c, d, a, pl, inv in upto:
        if d < start:
            continue
        kind = "primary" if d == first_day[c] else "new_direction" if d == first_in_line[(c, pl)] else "repeat"
        facts.append((c, line_manager(inv, customers[c]["manager"]), kind, a))
        per_customer[c][kind] += a
    known = {c for c, v in customers.items() if v["created"] <= end or c in first_day}
    for c in known:
        m, created = customers[c]["manager"], customers[c]["created"]
        s, e = at_start.get(c, {}), at_end.get(c, {})

        def flag(kpi, c=c, m=m):
            facts.append((c, m, kpi, Decimal(0)))

        if c not in first_day:
            flag("potential")
        if start <= created <= end:
            flag("created")
            if c in first_day:
                flag("converted")
        if e.get("status") in ("regular", "new", "restored"):
            flag(e["status"])
        if e.get("status") == "lost" and s.get("status") != "lost":
            flag("lost")
        if (s.get("abc") or "", s.get("xyz") or "") != (e.get("abc") or "", e.get("xyz") or ""):
            flag("class_changes")
    by_manager = {}
    groups = {"TOTAL": lambda m: True}
    for name in MANAGERS:
        groups[name] = lambda m, name=name: m == name
    groups[""] = lambda m: m == ""
    for team in set(MANAGERS.values()):
        groups[f"team:{team}"] = lambda m, team=team: MANAGERS.get(m) == team
    for key, belongs in groups.items():
        mine = [f for f in facts if belongs(f[1])]
        if key == "" and not mine:
            continue
        row = {}
        for kpi in ["potential", "primary", "repeat", "new_direction", "created", "converted", "regular", "new",
                    "restored", "lost", "class_changes"]:  # fmt: skip
            who = {f[0] for f in mine if f[2] == kpi}
            total = sum((f[3] for f in mine if f[2] == kpi), Decimal(0))
            if kpi in ("primary", "repeat", "new_direction"):
                row[f"{kpi}_customers"] = str(len(who))
                row[f"{kpi}_amount"] = format(total.quantize(Decimal("0.0001")), "f")
            else:
                row[kpi] = str(len(who))
        created, converted = int(row["created"]), int(row["converted"])
        row["conversion"] = (
            format((Decimal(converted) / Decimal(created)).quantize(Decimal("0.0001")), "f") if created else ""
        )
        by_manager[key] = [row[column] for column in MANAGER_COLUMNS[1:]]
    by_customer = {}
    for c in known | set(per_customer):
        s, e, sums = at_start.get(c, {}), at_end.get(c, {}), per_customer.get(c)
        sums = sums or {"primary": Decimal(0), "repeat": Decimal(0), "new_direction": Decimal(0)}
        amounts = [format(sums[k].quantize(Decimal("0.0001")), "f") for k in ("primary", "repeat", "new_direction")]
        states = [s.get("status"), e.get("status"), s.get("abc"), e.get("abc"), s.get("xyz"), e.get("xyz")]
        by_customer[c] = [customers[c]["manager"], *(value or "" for value in states), *amounts]
    return by_manager, by_customer


#
# Loading into the product
#


def setup(args, workdir: Path) -> str:
    return check_online_retail.setup(args, workdir, sqlite_name="kpis.sqlite3")


def load(data, customers, workdir: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from customers.access import MANAGER
    from customers.models import SalesTeam, TeamMembership

    for name, team in MANAGERS.items():
        user = get_user_model().objects.create_user(name, f"{name}@example.com", "not-used-here-1234")
        user.groups.add(Group.objects.get(name=MANAGER))
        TeamMembership.objects.create(user=user, team=SalesTeam.objects.get_or_create(name=team)[0])
    people = workdir / "customers.csv"
    with open(people, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_ref", "name", "manager", "created"])
        for ref, value in customers.items():
            writer.writerow([ref, f"Customer {ref}", value["manager"], value["created"].isoformat()])
    call_command("import_customers", str(people), verbosity=0)
    managers = [line_manager(inv, customers[str(c)]["manager"]) if inv.endswith("7") else ""
                for inv, c in zip(data["InvoiceNo"], data["customer"], strict=True)]  # fmt: skip
    lines = pd.DataFrame({
        "customer": data["customer"].astype(str), "date": [d.isoformat() for d in data["day"]],
        "product": data["StockCode"].astype(str), "amount": [format(a, "f") for a in data["amount"]],
        "quantity": data["Quantity"], "document": data["InvoiceNo"], "product_line": data["line"], "manager": managers,
    })  # fmt: skip
    settlements = workdir / "settlements.csv"
    lines.to_csv(settlements, index=False)
    call_command("import_settlements", str(settlements), create_missing=True, verbosity=0)


def exported(kind: str, start: date, end: date, workdir: Path) -> dict[str, list[str]]:
    from django.core.management import call_command

    out = workdir / f"kpis-{kind}-{start}-{end}.csv"
    call_command("export_kpis", str(out), start=start.isoformat(), end=end.isoformat(), by=kind, verbosity=0)
    with open(out, newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == (MANAGER_COLUMNS if kind == "manager" else CUSTOMER_COLUMNS), header
    return {row[0]: row[1:] for row in rows}


def compare(kind, expected, actual) -> list:
    columns = (MANAGER_COLUMNS if kind == "manager" else CUSTOMER_COLUMNS)[1:]
    problems = []
    for key in sorted(set(expected) | set(actual)):
        if key not in expected or key not in actual:
            problems.append((key, "<row>", key in expected, key in actual))
            continue
        for column, want, got in zip(columns, expected[key], actual[key], strict=True):
            if want != got:
                problems.append((key, column, want, got))
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--database", default="crm_kpis_retail")
    parser.add_argument("--host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PGPORT", "5432"))
    parser.add_argument("--user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="kpis_retail_"))
    started = time.perf_counter()
    url = setup(args, workdir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    data = read_invoices()
    customers = build_customers(data)
    print(f"{len(data):,} lines, {data['customer'].nunique():,} customers with lines, {PROSPECTS} prospects; "
          f"database {url.split('@')[-1]}", flush=True)  # fmt: skip
    load(data, customers, workdir)
    print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
    from customers.models import Customer

    tie_order = dict(Customer.objects.values_list("external_ref", "pk"))
    failures = 0
    for start, end in PERIODS:
        t0 = time.perf_counter()
        want_managers, want_customers = expected_tables(data, customers, tie_order, start, end)
        t1 = time.perf_counter()
        got_managers = exported("manager", start, end, workdir)
        got_customers = exported("customer", start, end, workdir)
        t2 = time.perf_counter()
        bad = compare("manager", want_managers, got_managers) + compare("customer", want_customers, got_customers)
        failures += len(bad)
        total = dict(zip(MANAGER_COLUMNS[1:], got_managers["TOTAL"], strict=True))
        print(f"{start}..{end}: {len(got_managers)} manager rows x {len(MANAGER_COLUMNS) - 1} columns, "
              f"{len(got_customers):,} customer rows x {len(CUSTOMER_COLUMNS) - 1}: {len(bad)} mismatches "
              f"(independent {t1 - t0:.1f} s, export_kpis x2 {t2 - t1:.1f} s)")  # fmt: skip
        print("   TOTAL " + ", ".join(f"{k} {v}" for k, v in total.items()))
        for problem in bad[:20]:
            print("   ", problem)
    print(f"Mismatches: {failures}")
    if not args.keep:
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
