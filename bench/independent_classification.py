"""A second, independent implementation of the classification of domain.md section 4.

Written from the rules, not from segmentation/classification.py, and deliberately in a
different style: plain Python over raw lines, one customer at a time, dicts and lists,
Decimal money, Fraction thresholds, statistics.pvariance/pstdev for the XYZ series and
its own month arithmetic. It imports nothing from the project, so bench/check_online_retail.py
and tests/segmentation/test_online_retail.py can hold the product's results against it.

    result = classify_lines(lines, as_of=date(2011, 12, 9), tie_order={...})

`lines` are (customer, date, Decimal amount) triples; the result maps each customer to
a dict with the export's columns (status, abc, xyz, revenue, cov, recency, frequency,
monetary, r, f, m, rfm_segment), None where a class or figure does not apply.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

COLUMNS = (
    "status",
    "abc",
    "xyz",
    "revenue",
    "cov",
    "recency",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "rfm_segment",
)


@dataclass(frozen=True)
class Rules:
    """The defaults of domain.md section 4 (revenue basis)."""

    window_months: int = 12
    period_months: int = 3
    bucket_months: int = 1
    abc_a: Fraction = Fraction(1, 2)
    abc_b: Fraction = Fraction(4, 5)
    xyz_x: Fraction = Fraction(1, 10)
    xyz_y: Fraction = Fraction(1, 4)


def months_back(day: date, months: int) -> date:
    """`day` minus whole calendar months; a day past the end of the target month becomes
    its last day (31 May - 3 months = 28 or 29 Feb)."""
    year, month = day.year, day.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    first_of_next = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (first_of_next - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _within(day: date, older: date, newer: date) -> bool:
    """The half-open interval (older, newer]."""
    return older < day <= newer


def _scores(goodness: dict[Hashable, Fraction | int]) -> dict[Hashable, int]:
    """Quintile score 1..5 from rank (1 = worst); ties share the lowest rank of the tie."""
    ordered = sorted(goodness.values())
    n = len(ordered)
    return {key: 1 + (5 * bisect_left(ordered, value)) // n for key, value in goodness.items()}


def classify_lines(
    lines: Iterable[tuple[Hashable, date, Decimal]],
    *,
    as_of: date,
    tie_order: Mapping[Hashable, int] | None = None,
    customers_without_lines: Iterable[Hashable] = (),
    rules: Rules = Rules(),
) -> dict[Hashable, dict]:
    """Classify every customer as of `as_of`. `tie_order` gives each customer the id that
    breaks ABC ties (the database id in the product); by default the customer key."""
    d = as_of
    window_start = months_back(d, rules.window_months)
    p1_edge, p2_edge = months_back(d, rules.period_months), months_back(d, 2 * rules.period_months)
    bucket_count = rules.window_months // rules.bucket_months
    edges = [months_back(d, k * rules.bucket_months) for k in range(bucket_count + 1)]

    by_customer: dict[Hashable, list[tuple[date, Decimal]]] = defaultdict(list)
    for customer, day, amount in lines:
        if day <= d:
            by_customer[customer].append((day, Decimal(amount)))

    result: dict[Hashable, dict] = {}
    for customer in customers_without_lines:
        if customer not in by_customer:
            result[customer] = dict.fromkeys(COLUMNS) | {"status": "potential"}

    facts = {}
    for customer, entries in by_customer.items():
        days = [day for day, _ in entries]
        first = min(days)
        in_window = [(day, amount) for day, amount in entries if day > window_start]
        now = any(_within(day, p1_edge, d) for day in days)
        before = any(_within(day, p2_edge, p1_edge) for day in days)
        if first > p1_edge:
            status = "new"
        elif not now:
            status = "lost"
        elif before:
            status = "regular"
        elif first <= p2_edge:
            status = "restored"
        else:  # first line inside the previous period is itself a line there
            status = "regular"
        revenue = sum((amount for _, amount in in_window), Decimal(0))
        facts[customer] = {
            "first": first,
            "status": status,
            "revenue": revenue,
            "window_days": sorted({day for day, _ in in_window}),
            "in_window": in_window,
        }
        result[customer] = dict.fromkeys(COLUMNS) | {"status": status, "revenue": revenue}

    # ABC over positive values: descending, ties by the customer's id.
    order = tie_order or {}
    ranked = sorted(
        (c for c, fact in facts.items() if fact["revenue"] > 0),
        key=lambda c: (-facts[c]["revenue"], order.get(c, c)),
    )
    total = Fraction(sum((facts[c]["revenue"] for c in ranked), Decimal(0)))
    running = Fraction(0)
    for customer in ranked:
        share_before = running / total
        result[customer]["abc"] = "A" if share_before < rules.abc_a else "B" if share_before < rules.abc_b else "C"
        running += Fraction(facts[customer]["revenue"])

    # XYZ: month buckets from the one holding the first line (or all of them) to k = 0.
    for customer in ranked:
        fact = facts[customer]
        if fact["status"] == "new":
            continue
        if fact["first"] <= window_start:
            length = bucket_count
        else:
            length = next(k for k in range(bucket_count) if _within(fact["first"], edges[k + 1], edges[k])) + 1
        series = [Fraction(0)] * length
        for day, amount in fact["in_window"]:
            for k in range(length):
                if _within(day, edges[k + 1], edges[k]):
                    series[k] += Fraction(amount)
                    break
        mean = sum(series) / length
        if mean <= 0:
            result[customer]["xyz"] = "Z"
            continue
        variance = statistics.pvariance(series)  # exact: a Fraction
        if variance <= rules.xyz_x**2 * mean**2:
            result[customer]["xyz"] = "X"
        elif variance <= rules.xyz_y**2 * mean**2:
            result[customer]["xyz"] = "Y"
        else:
            result[customer]["xyz"] = "Z"
        result[customer]["cov"] = statistics.pstdev(series) / float(mean)

    # RFM over customers with a line in the window.
    scored = [c for c, fact in facts.items() if fact["window_days"]]
    if scored:
        recency = {c: (d - facts[c]["window_days"][-1]).days for c in scored}
        frequency = {c: len(facts[c]["window_days"]) for c in scored}
        monetary = {c: facts[c]["revenue"] for c in scored}
        r = _scores({c: -recency[c] for c in scored})
        f = _scores(frequency)
        m = _scores({c: Fraction(monetary[c]) for c in scored})
        for c in scored:
            recent = facts[c]["window_days"][-1] > p1_edge
            if frequency[c] == 1:
                segment = "newcomer" if recent else "one-time"
            elif not recent:
                segment = "sleeping"
            elif f[c] == 5 and m[c] == 5:
                segment = "vip"
            else:
                segment = "growing"
            result[c].update(
                recency=recency[c],
                frequency=frequency[c],
                monetary=monetary[c],
                r=r[c],
                f=f[c],
                m=m[c],
                rfm_segment=segment,
            )
    return result


#
# Reading the product's export and comparing
#


def parse_export_row(row: Mapping[str, str]) -> dict:
    """A row of export_segments' CSV as typed values (None for empty cells)."""

    def text(name):
        return row[name] or None

    def integer(name):
        return int(row[name]) if row[name] != "" else None

    def money(name):
        return Decimal(row[name]) if row[name] != "" else None

    return {
        "status": row["status"],
        "abc": text("abc"),
        "xyz": text("xyz"),
        "revenue": money("revenue"),
        "cov": float(row["cov"]) if row["cov"] != "" else None,
        "recency": integer("recency"),
        "frequency": integer("frequency"),
        "monetary": money("monetary"),
        "r": integer("r"),
        "f": integer("f"),
        "m": integer("m"),
        "rfm_segment": text("rfm_segment"),
    }


def compare(expected: Mapping[Hashable, dict], actual: Mapping[Hashable, dict], *, cov_tolerance: float = 1e-9):
    """Every (customer, column, expected, actual) that differs, plus customers missing on
    either side (column '<row>'). Money compares exactly, cov within the tolerance."""
    mismatches = []
    for customer in sorted(set(expected) | set(actual), key=str):
        if customer not in actual or customer not in expected:
            mismatches.append((customer, "<row>", customer in expected, customer in actual))
            continue
        want, got = expected[customer], actual[customer]
        for column in COLUMNS:
            a, b = want[column], got[column]
            if column == "cov" and a is not None and b is not None:
                same = abs(a - b) <= cov_tolerance
            else:
                same = a == b
            if not same:
                mismatches.append((customer, column, a, b))
    return mismatches


def counts(result: Mapping[Hashable, dict], column: str) -> dict[str, int]:
    tally: dict[str, int] = defaultdict(int)
    for row in result.values():
        tally[row[column] or "-"] += 1
    return dict(sorted(tally.items()))
