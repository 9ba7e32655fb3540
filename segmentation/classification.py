"""Customer classification as of a date D: lifecycle status, ABC, XYZ and RFM.

Implements domain.md section 4 on one pre-aggregated row per customer (see
`classify` for the input columns), so the nightly job never loads raw ledger lines
into Python. Money is integer minor units (cents) and every threshold comparison is
exact. Pure pandas/numpy: no Django imports.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

STATUS_POTENTIAL = "potential"
STATUS_NEW = "new"
STATUS_REGULAR = "regular"
STATUS_RESTORED = "restored"
STATUS_LOST = "lost"
STATUSES = (STATUS_POTENTIAL, STATUS_NEW, STATUS_REGULAR, STATUS_RESTORED, STATUS_LOST)
ACTIVITY_SEGMENTS = ("newcomer", "one-time", "vip", "growing", "sleeping")

INPUT_COLUMNS = (
    "customer_id",
    "first_date",
    "last_date_window",
    "days_window",
    "revenue_window",
    "margin_window",
    "lines_p0",
    "lines_p1",
)
OUTPUT_COLUMNS = (
    "status",
    "abc",
    "xyz",
    "value",
    "cov",
    "recency",
    "frequency",
    "monetary",
    "r",
    "f",
    "m",
    "rfm_segment",
    "cooperation_days",
)

_EPOCH = date(1970, 1, 1).toordinal()
_NAT = np.iinfo(np.int64).min  # what NaT becomes in an int64 day-number array


@dataclass(frozen=True)
class ClassificationParams:
    """The admin-editable settings of domain.md section 4, with its defaults."""

    window_months: int = 12
    period_months: int = 3
    abc_basis: str = "revenue"
    abc_a: Decimal = Decimal("0.50")
    abc_b: Decimal = Decimal("0.80")
    xyz_bucket_months: int = 1
    xyz_x: Decimal = Decimal("0.10")
    xyz_y: Decimal = Decimal("0.25")

    def __post_init__(self):
        for name in ("window_months", "period_months", "xyz_bucket_months"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.window_months % self.xyz_bucket_months:
            raise ValueError("window_months must be divisible by xyz_bucket_months")
        if self.abc_basis not in ("revenue", "margin"):
            raise ValueError("abc_basis must be 'revenue' or 'margin'")

    @property
    def bucket_count(self) -> int:
        return self.window_months // self.xyz_bucket_months


@dataclass(frozen=True)
class Boundaries:
    """Date edges for one run. Every interval is half-open: (older edge, newer edge]."""

    as_of: date
    window_start: date
    bucket_edges: tuple[date, ...]  # edge[k] = D - k buckets; bucket k = (edge[k+1], edge[k]]
    period_edges: tuple[date, date, date]  # (D, D - P, D - 2P)


def months_before(d: date, months: int) -> date:
    """Return `d` minus `months` calendar months, clipping the day to the end of the
    target month (31 May - 3 months = 28 Feb), like PostgreSQL's `date - interval`."""
    year, month0 = divmod(d.year * 12 + d.month - 1 - months, 12)
    day = min(d.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def boundaries(as_of: date, params: ClassificationParams) -> Boundaries:
    """Compute the window, XYZ bucket and lifecycle period edges for a run as of D.
    Each edge is D minus a whole number of months, never an edge minus more months,
    so that clipping at month ends does not accumulate."""
    step, p = params.xyz_bucket_months, params.period_months
    return Boundaries(
        as_of=as_of,
        window_start=months_before(as_of, params.window_months),
        bucket_edges=tuple(months_before(as_of, k * step) for k in range(params.bucket_count + 1)),
        period_edges=(as_of, months_before(as_of, p), months_before(as_of, 2 * p)),
    )


def bucket_columns(params: ClassificationParams) -> list[str]:
    """Names of the per-bucket revenue columns the input frame must carry."""
    return [f"bucket_{k}" for k in range(params.bucket_count)]


def classify(
    frame: pd.DataFrame,
    *,
    as_of: date,
    params: ClassificationParams,
    potential_ids: Iterable[int] = (),
) -> pd.DataFrame:
    """Classify every customer as of `as_of`. `frame` has one row per customer with
    at least one line dated <= D and the columns INPUT_COLUMNS + bucket_columns()
    (see aggregate_lines for their meaning); `potential_ids` are customers with no
    line at all. A frame row with a missing first_date also counts as potential, and
    a potential id that also has a frame row is ignored. Returns one row per customer,
    indexed and sorted by customer_id, with OUTPUT_COLUMNS."""
    buckets = bucket_columns(params)
    missing = [c for c in (*INPUT_COLUMNS, *buckets) if c not in frame.columns]
    if missing:
        raise ValueError(f"classification input lacks columns: {', '.join(missing)}")
    table = _add_potential(frame[[*INPUT_COLUMNS, *buckets]], potential_ids)
    ids = _ints(table["customer_id"])
    if len(np.unique(ids)) != len(ids):
        raise ValueError("classification input has duplicate customer_id values")

    bounds = boundaries(as_of, params)
    d, p1, p2 = (_day(x) for x in bounds.period_edges)
    first = _day_numbers(table["first_date"])
    last = _day_numbers(table["last_date_window"])
    has_lines = first != _NAT
    days_window = _ints(table["days_window"])
    revenue = _ints(table["revenue_window"])
    value = revenue if params.abc_basis == "revenue" else _ints(table["margin_window"])

    status = _lifecycle(first, _ints(table["lines_p0"]), _ints(table["lines_p1"]), p1, p2)
    abc = _abc(ids, np.where(has_lines, value, 0), params)
    eligible = pd.notna(abc) & (status != STATUS_NEW) & has_lines
    matrix = np.column_stack([_ints(table[c]) for c in buckets])
    xyz, cov = _xyz(matrix, first, eligible, bounds, params)

    out = pd.DataFrame(
        {
            "status": pd.Series(status, dtype=object),
            "abc": pd.Series(abc, dtype=object),
            "xyz": pd.Series(xyz, dtype=object),
            "value": _nullable(value, ~has_lines),
            "cov": cov,
        },
    )
    for column, values in _rfm(days_window, last, revenue, d, p1).items():
        out[column] = values
    out["cooperation_days"] = _nullable(d - first, ~has_lines)
    out.index = pd.Index(ids, name="customer_id")
    return out.sort_index()


def aggregate_lines(lines: pd.DataFrame, *, as_of: date, params: ClassificationParams) -> pd.DataFrame:
    """Build classify()'s input frame from raw settlement lines (customer_id, date,
    amount_cents, cost_cents nullable), as the production SQL must: per customer with a
    line <= D, first_date (first line), last_date_window and days_window (last line and
    distinct days in the window), revenue_window and margin_window (sums in the window),
    lines_p0 and lines_p1 (line counts in periods j = 0 and 1) and bucket_k (revenue in
    XYZ bucket k). It is the executable reference for that SQL and lets tests run
    without a database."""
    bounds = boundaries(as_of, params)
    d, p1, p2 = (_day(x) for x in bounds.period_edges)
    n = params.bucket_count
    day = _day_numbers(lines["date"])
    keep = (day != _NAT) & (day <= d)
    day = day[keep]
    amount = _ints(lines["amount_cents"])[keep]
    # A line without a cost counts its full amount as margin.
    margin = amount - _ints(lines["cost_cents"])[keep]
    in_window = day > _day(bounds.window_start)
    t = pd.DataFrame(
        {
            "customer_id": _ints(lines["customer_id"])[keep],
            "day": day,
            "amount": amount,
            "margin": margin,
            "p0": day > p1,
            "p1": (day > p2) & (day <= p1),
        }
    )
    every = t.groupby("customer_id", sort=True)
    first = every["day"].min()
    ids = first.index
    window = t[in_window].groupby("customer_id")
    out = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(np.int64),
            "first_date": _dates(first.to_numpy()),
            "last_date_window": _dates(window["day"].max().reindex(ids, fill_value=_NAT).to_numpy()),
            "days_window": window["day"].nunique().reindex(ids, fill_value=0).to_numpy(np.int64),
            "revenue_window": window["amount"].sum().reindex(ids, fill_value=0).to_numpy(np.int64),
            "margin_window": window["margin"].sum().reindex(ids, fill_value=0).to_numpy(np.int64),
            "lines_p0": every["p0"].sum().to_numpy(np.int64),
            "lines_p1": every["p1"].sum().to_numpy(np.int64),
        }
    )
    matrix = np.zeros((len(ids), n), dtype=np.int64)
    rows = ids.get_indexer(t["customer_id"].to_numpy()[in_window])
    np.add.at(matrix, (rows, _bucket_of(day[in_window], bounds)), amount[in_window])
    for k, column in enumerate(bucket_columns(params)):
        out[column] = matrix[:, k]
    return out


def second_purchase_nudge(
    first_second: pd.DataFrame, *, as_of: date, period_months: int
) -> tuple[float | None, pd.DataFrame]:
    """Find one-purchase customers due for a reminder. `first_second` has columns
    customer_id, first_date and second_date (the first and second distinct purchase
    days; NaT when there is no second). The median days from first to second purchase
    is taken over customers with a second purchase by D; a customer whose only purchase
    day is `age` days before D is listed when median - 7 <= age <= median + one period.
    Returns (median or None, frame of customer_id, first_date, age_days by customer_id)."""
    d = _day(as_of)
    ids = _ints(first_second["customer_id"])
    first = _day_numbers(first_second["first_date"])
    second = _day_numbers(first_second["second_date"])
    known = (first != _NAT) & (first <= d)
    repeat = known & (second != _NAT) & (second <= d)
    if not repeat.any():
        median = None
        pick = np.zeros(len(ids), dtype=bool)
    else:
        median = float(np.median(second[repeat] - first[repeat]))
        youngest, oldest = nudge_ages(median, as_of=as_of, period_months=period_months)
        age = d - first
        pick = known & ~repeat & (age >= youngest) & (age <= oldest)
    listed = pd.DataFrame(
        {
            "customer_id": ids[pick],
            "first_date": _dates(first[pick]),
            "age_days": (d - first[pick]).astype(np.int64),
        }
    )
    return median, listed.sort_values("customer_id", ignore_index=True)


def nudge_ages(median: float, *, as_of: date, period_months: int) -> tuple[int, int]:
    """The whole days since the only purchase for which a one-purchase customer is due a
    reminder: from 7 days before the median gap to one period (P months before D) past
    it, both ends inclusive, never before D."""
    one_period = _day(as_of) - _day(months_before(as_of, period_months))
    return max(0, math.ceil(median - 7)), math.floor(median + one_period)


def _lifecycle(first, lines_p0, lines_p1, p1, p2):
    has_lines = first != _NAT
    new = has_lines & (first > p1)
    lost = has_lines & ~new & (lines_p0 == 0)
    restored = has_lines & ~new & ~lost & (lines_p1 == 0) & (first <= p2)
    # What remains has lines now and a first line before the current period. A first
    # line inside j = 1 with lines_p1 == 0 is contradictory input; the first line is
    # itself a purchase in j = 1, so it falls to "regular" with the consistent rows.
    status = np.select(
        [~has_lines, new, lost, restored],
        [STATUS_POTENTIAL, STATUS_NEW, STATUS_LOST, STATUS_RESTORED],
        STATUS_REGULAR,
    )
    return status.astype(object)


def _abc(ids, value, params):
    classes = np.full(len(ids), None, dtype=object)
    positive = np.flatnonzero(value > 0)
    if positive.size == 0:
        return classes
    order = positive[np.lexsort((ids[positive], -value[positive]))]
    # Python ints: the cross-multiplied sums below may outgrow int64.
    v = value[order].astype(object)
    before = np.cumsum(v) - v
    total = int(v.sum())
    a, b = _fraction(params.abc_a), _fraction(params.abc_b)
    # before / total < a  <=>  before * a.den < a.num * total (total > 0)
    in_a = (before * a.denominator < a.numerator * total).astype(bool)
    in_b = (before * b.denominator < b.numerator * total).astype(bool)
    classes[order] = np.where(in_a, "A", np.where(in_b, "B", "C")).astype(object)
    return classes


def _xyz(matrix, first, eligible, bounds, params):
    count = len(first)
    classes = np.full(count, None, dtype=object)
    cov = np.full(count, np.nan)
    rows = np.flatnonzero(eligible)
    if rows.size == 0:
        return classes, cov
    n = matrix.shape[1]
    length = _bucket_of(first[rows], bounds) + 1
    # Buckets older than the first line are not part of the series.
    series = np.where(np.arange(n) < length[:, None], matrix[rows], 0).astype(object)
    total = series.sum(axis=1)
    squares = (series * series).sum(axis=1)
    # n^2 * population variance, exact; CoV = sqrt(spread) / total when total > 0.
    spread = length.astype(object) * squares - total * total
    positive = (total > 0).astype(bool)
    x, y = _fraction(params.xyz_x), _fraction(params.xyz_y)
    # CoV <= t  <=>  spread * t.den^2 <= t.num^2 * total^2, for total > 0
    within_x = positive & (spread * x.denominator**2 <= x.numerator**2 * total * total).astype(bool)
    within_y = positive & (spread * y.denominator**2 <= y.numerator**2 * total * total).astype(bool)
    classes[rows] = np.where(within_x, "X", np.where(within_y, "Y", "Z")).astype(object)
    cov[rows] = np.divide(
        np.sqrt(spread.astype(float)),
        total.astype(float),
        out=np.full(rows.size, np.nan),
        where=positive,
    )
    return classes, cov


def _rfm(days_window, last, revenue, d, p1):
    count = len(days_window)
    scored = np.flatnonzero(days_window > 0)
    recency = np.zeros(count, dtype=np.int64)
    recency[scored] = d - last[scored]
    columns = {
        "recency": recency,
        "frequency": days_window,
        "monetary": revenue,
        "r": np.zeros(count, dtype=np.int64),
        "f": np.zeros(count, dtype=np.int64),
        "m": np.zeros(count, dtype=np.int64),
    }
    for score, goodness in (("r", -recency), ("f", days_window), ("m", revenue)):
        columns[score][scored] = _quintile(goodness[scored])
    unscored = days_window <= 0
    out = {name: _nullable(values, unscored) for name, values in columns.items()}

    recent = last > p1
    once = days_window == 1
    vip = ~once & recent & (columns["f"] == 5) & (columns["m"] == 5)
    segment = np.select(
        [once & recent, once, vip, recent],
        ["newcomer", "one-time", "vip", "growing"],
        "sleeping",
    ).astype(object)
    segment[unscored] = None
    out["rfm_segment"] = pd.Series(segment, dtype=object)
    return out


def _quintile(goodness):
    # Rank from worst (1) to best (N); ties share the lowest rank of their tie.
    rank = np.searchsorted(np.sort(goodness), goodness, side="left") + 1
    return 1 + (5 * (rank - 1)) // len(goodness)


def _bucket_of(days, bounds):
    # k with edge[k+1] < day <= edge[k]; days on or before the window start go to the
    # oldest bucket, which is where a series starting before the window begins.
    inner = np.array([_day(e) for e in reversed(bounds.bucket_edges[1:])], dtype=np.int64)
    n = len(inner)
    return np.minimum(n - np.searchsorted(inner, days, side="left"), n - 1)


def _add_potential(frame, potential_ids):
    extra = sorted({int(i) for i in potential_ids} - set(_ints(frame["customer_id"]).tolist()))
    if not extra:
        return frame
    # Zero counts and sums, no dates: columns keep their dtypes (a NaN would turn int64
    # money into float64, inexact beyond 2**53).
    blank = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_integer_dtype(dtype):
            blank[column] = np.zeros(len(extra), dtype=dtype)
        elif pd.api.types.is_datetime64_dtype(dtype):
            blank[column] = np.full(len(extra), np.datetime64("NaT"), dtype=dtype)
        else:
            blank[column] = np.full(len(extra), None, dtype=object)
    blank["customer_id"] = np.array(extra, dtype=np.int64)
    return pd.concat([frame, pd.DataFrame(blank)], ignore_index=True)


def _day(d: date) -> int:
    return d.toordinal() - _EPOCH


def _day_numbers(values) -> np.ndarray:
    """Days since 1970-01-01 as int64, _NAT where missing; accepts dates or datetimes."""
    stamps = pd.to_datetime(pd.Series(values))
    return stamps.to_numpy(dtype="datetime64[D]").astype(np.int64)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")


def _ints(values) -> np.ndarray:
    """int64 array from integers, integral floats or Decimals (PostgreSQL's SUM of a
    bigint is numeric); missing counts and sums are 0, as SQL SUM over no rows is NULL."""
    series = pd.Series(values)
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return series.to_numpy(dtype=np.int64)
    result = []
    for x in series.tolist():
        if x is None or pd.isna(x):
            result.append(0)
        elif x != int(x):
            raise ValueError(f"expected a whole number of minor units, got {x!r}")
        else:
            result.append(int(x))
    return np.array(result, dtype=np.int64)


def _nullable(values, missing) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), np.asarray(missing, dtype=bool))


def _fraction(x) -> Fraction:
    # str() first, so that a float 0.1 means one tenth, not its binary neighbour.
    return Fraction(str(x)) if isinstance(x, float) else Fraction(x)
