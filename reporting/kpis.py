"""The KPI rules of domain.md section 8 (issue 12), as pure pandas: no Django here.

A period is [S, E], both days included. Statuses and classes "at S" are the snapshot as
of S - 1 day, "at E" the one as of E, so two consecutive periods neither miss nor double
count a change.

Everything is reduced to one long frame of **facts**: (customer_id, manager_id, kpi,
amount), one row per customer and figure it counts in, for the manager it counts for:

* line-based figures (primary, repeat, new_direction) for the manager recorded on the
  line, with the sum of those lines;
* customer-based figures (potential, created, converted, regular, new, restored, lost,
  class_changes) for the customer's assigned manager, amount 0.

A table row is then the facts of its group counted as *distinct customers* (and amounts
summed), so a manager row, a team subtotal and the TOTAL come out of one rule, and the
TOTAL is not the sum of the rows when a customer's lines were recorded by two managers.
The drill-down behind a number is the same facts filtered, so it cannot disagree with it.

Money is exact: integers of 1/10,000 (the ledger's four decimals), never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

MONEY_UNIT = 10_000
UNASSIGNED = 0  # manager_id of the unassigned pool (and of lines recorded without a manager)
NO_LINE = -1  # product_line_id of lines without a product line: one line of its own

PRIMARY, NEW_DIRECTION, REPEAT = "primary", "new_direction", "repeat"
CATEGORIES = [PRIMARY, REPEAT, NEW_DIRECTION]
CUSTOMER_KPIS = ["potential", "created", "converted", "regular", "new", "restored", "lost", "class_changes"]
KPIS = [*CATEGORIES, *CUSTOMER_KPIS]

# The by-manager columns of `export_kpis` (a fixed interface: more may follow, never reordered).
MANAGER_COLUMNS = [
    "potential",
    "primary_customers",
    "primary_amount",
    "repeat_customers",
    "repeat_amount",
    "new_direction_customers",
    "new_direction_amount",
    "created",
    "converted",
    "conversion",
    "regular",
    "new",
    "restored",
    "lost",
    "class_changes",
]
CUSTOMER_COLUMNS = [
    "customer_id",
    "manager_id",
    "status_start",
    "status_end",
    "abc_start",
    "abc_end",
    "xyz_start",
    "xyz_end",
    "primary_amount",
    "repeat_amount",
    "new_direction_amount",
]
FACT_COLUMNS = ["customer_id", "manager_id", "kpi", "amount"]


@dataclass(frozen=True)
class Period:
    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def of(cls, start, end) -> Period:
        return cls(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize())

    @property
    def snapshot_start(self) -> pd.Timestamp:
        """The as-of date of the classes "at S": the close of the day before S."""
        return self.start - pd.Timedelta(days=1)


def to_units(amount) -> int:
    """A Decimal (or int, or str) amount as exact integer units of 1/10,000."""
    return int((Decimal(str(amount)) * MONEY_UNIT).to_integral_value())


def from_units(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-4)


def plain_decimal(units: int) -> str:
    """Units as a plain decimal string ("1234.5000", never "1.2E+3")."""
    return format(from_units(units), "f")


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.normalize()


def _ids(series: pd.Series, missing: int) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").fillna(missing).astype("int64")


def categorise(lines: pd.DataFrame, first_days: pd.DataFrame, first_line_days: pd.DataFrame) -> pd.DataFrame:
    """Each line's sale category (day-grained, whatever its sign): *primary* on the
    customer's first-ever settlement day; *new_direction* on the customer's first day in
    the line's product line when that day is later than the first-ever day; *repeat*
    otherwise. `lines`: customer_id, date, product_line_id (None: no line), manager_id,
    amount (units). `first_days`: customer_id, first_date (over the whole ledger up to the
    period's end). `first_line_days`: customer_id, product_line_id, first_date."""
    out = lines.copy()
    if out.empty:
        out["category"] = pd.Series(dtype="object")
        return out
    out["date"] = _dates(out["date"])
    out["product_line_id"] = _ids(out["product_line_id"], NO_LINE)
    firsts = first_days[["customer_id", "first_date"]].copy()
    firsts["first_date"] = _dates(firsts["first_date"])
    per_line = first_line_days[["customer_id", "product_line_id", "first_date"]].copy()
    per_line["product_line_id"] = _ids(per_line["product_line_id"], NO_LINE)
    per_line["first_date"] = _dates(per_line["first_date"])
    # Several "no line" keys (no product, a product without a line) are one line.
    per_line = per_line.groupby(["customer_id", "product_line_id"], as_index=False)["first_date"].min()
    per_line = per_line.rename(columns={"first_date": "first_line_date"})
    out = out.merge(firsts, on="customer_id", how="left").merge(
        per_line, on=["customer_id", "product_line_id"], how="left"
    )
    out["category"] = REPEAT
    out.loc[out["date"] == out["first_line_date"], "category"] = NEW_DIRECTION
    out.loc[out["date"] == out["first_date"], "category"] = PRIMARY
    return out.drop(columns=["first_date", "first_line_date"])


def _snapshot(frame: pd.DataFrame | None, suffix: str) -> pd.DataFrame:
    columns = ["customer_id", "status", "abc", "xyz"]
    if frame is None or frame.empty:
        frame = pd.DataFrame(columns=columns)
    frame = frame[columns].copy()
    frame[["status", "abc", "xyz"]] = frame[["status", "abc", "xyz"]].fillna("").astype(str)
    return frame.rename(columns={name: f"{name}_{suffix}" for name in ["status", "abc", "xyz"]})


def customer_states(
    customers: pd.DataFrame,
    first_days: pd.DataFrame,
    snap_start: pd.DataFrame | None,
    snap_end: pd.DataFrame | None,
    period: Period,
) -> pd.DataFrame:
    """One row per customer created on or before E or with a line by then: manager_id (0: unassigned), created,
    first_date (NaT: no line up to E), the status and classes at S and at E ("" when
    none: "no class" is a value of its own)."""
    out = customers[["customer_id", "manager_id", "created"]].copy()
    out["manager_id"] = _ids(out["manager_id"], UNASSIGNED)
    out["created"] = _dates(out["created"])
    firsts = first_days[["customer_id", "first_date"]].copy()
    firsts["first_date"] = _dates(firsts["first_date"])
    firsts = firsts[firsts["first_date"] <= period.end]
    out = out.merge(firsts, on="customer_id", how="left")
    # A customer with a line existed whatever its record says (imports create customers
    # "now" for old lines), as the classification counts it.
    out = out[(out["created"] <= period.end) | out["first_date"].notna()]
    out = out.merge(_snapshot(snap_start, "start"), on="customer_id", how="left")
    out = out.merge(_snapshot(snap_end, "end"), on="customer_id", how="left")
    state_columns = [f"{n}_{s}" for n in ["status", "abc", "xyz"] for s in ["start", "end"]]
    out[state_columns] = out[state_columns].fillna("")
    return out.reset_index(drop=True)


def facts(lines: pd.DataFrame, states: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The long frame of facts (see the module docstring). `lines`: categorised lines of
    [S, E] (`categorise`); `states`: `customer_states`."""
    parts = []
    in_period = lines
    if not lines.empty:
        in_period = lines[(_dates(lines["date"]) >= period.start) & (_dates(lines["date"]) <= period.end)].copy()
    if not in_period.empty:
        in_period["manager_id"] = _ids(in_period["manager_id"], UNASSIGNED)
        by_line = in_period.groupby(["customer_id", "manager_id", "category"], as_index=False)["amount"].sum()
        parts.append(by_line.rename(columns={"category": "kpi"}))
    s = states
    created = (s["created"] >= period.start) & (s["created"] <= period.end)
    flags = {
        "potential": s["first_date"].isna(),
        "created": created,
        "converted": created & s["first_date"].notna(),
        "regular": s["status_end"] == "regular",
        "new": s["status_end"] == "new",
        "restored": s["status_end"] == "restored",
        "lost": (s["status_end"] == "lost") & (s["status_start"] != "lost"),
        "class_changes": (s["abc_end"] != s["abc_start"]) | (s["xyz_end"] != s["xyz_start"]),
    }
    for kpi, mask in flags.items():
        chosen = s.loc[mask, ["customer_id", "manager_id"]].copy()
        chosen["kpi"] = kpi
        chosen["amount"] = 0
        parts.append(chosen)
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype="int64" if name != "kpi" else "object") for name in FACT_COLUMNS})
    out = pd.concat(parts, ignore_index=True)[FACT_COLUMNS]
    out["amount"] = out["amount"].astype("int64")
    return out


def mark_shared(fact_rows: pd.DataFrame) -> pd.DataFrame:
    """`fact_rows` with a `shared` column: the customer counts in this line-based figure
    for more than one manager. Those are all a distinct count over managers must see: the
    other facts are one per customer and figure."""
    out = fact_rows.copy()
    out["shared"] = False
    if out.empty:
        return out
    lines = out["kpi"].isin(CATEGORIES)
    managers = out[lines].groupby(["kpi", "customer_id"])["manager_id"].transform("size")
    out.loc[managers.index, "shared"] = (managers > 1).to_numpy()
    return out


CELL_COLUMNS = ["manager_id", "kpi", "customers", "amount"]


def cells(fact_rows: pd.DataFrame) -> pd.DataFrame:
    """Customers and summed amounts per manager and figure: (customer, manager, kpi) is
    unique among the facts, so the size of each group is its distinct customers."""
    if fact_rows.empty:
        return pd.DataFrame({name: pd.Series(dtype="object" if name == "kpi" else "int64") for name in CELL_COLUMNS})
    grouped = fact_rows.groupby(["manager_id", "kpi"], as_index=False).agg(
        customers=("customer_id", "size"), amount=("amount", "sum")
    )
    return grouped[CELL_COLUMNS]


def conversion(converted: int, created: int) -> Decimal | None:
    """converted / created; None (shown empty) when nobody was created."""
    return (Decimal(converted) / Decimal(created)).quantize(Decimal("0.0001")) if created else None


def figures(fact_rows: pd.DataFrame, key: pd.Series | str | None = None) -> pd.DataFrame:
    """The table's figures per group of facts: `key` a column name of `fact_rows`, a
    Series aligned with it, or None for one TOTAL row (index "TOTAL"). Counts are distinct
    customers; amounts are exact unit sums. Columns: MANAGER_COLUMNS, amounts in units."""
    if key is None:
        group = pd.Series("TOTAL", index=fact_rows.index)
    elif isinstance(key, str):
        group = fact_rows[key]
    else:
        group = key
    frame = fact_rows.assign(group=group.values if len(fact_rows) else group)
    counts = frame.groupby(["group", "kpi"])["customer_id"].nunique().unstack("kpi")
    amounts = frame.groupby(["group", "kpi"])["amount"].sum().unstack("kpi")
    out = pd.DataFrame(index=counts.index if len(frame) else pd.Index(["TOTAL"] if key is None else []))
    for kpi in KPIS:
        column = f"{kpi}_customers" if kpi in CATEGORIES else kpi
        out[column] = counts[kpi].fillna(0).astype("int64") if kpi in counts else 0
    for kpi in CATEGORIES:
        out[f"{kpi}_amount"] = amounts[kpi].fillna(0).astype("int64") if kpi in amounts else 0
    out["conversion"] = [conversion(c, n) for c, n in zip(out["converted"], out["created"], strict=True)]
    return out[MANAGER_COLUMNS]


def manager_table(fact_rows: pd.DataFrame, teams: dict[int, str] | None = None) -> pd.DataFrame:
    """One row per manager (manager_id; UNASSIGNED only when it has anything), then one
    per team ("team:<name>", when `teams` maps manager ids to team names), then TOTAL."""
    rows = figures(fact_rows, "manager_id")
    parts = [rows.sort_index()]
    if teams:
        named = fact_rows["manager_id"].map(teams)
        known = named.notna()
        team_rows = figures(fact_rows[known], "team:" + named[known].astype(str))
        parts.append(team_rows.sort_index())
    parts.append(figures(fact_rows, None))
    return pd.concat(parts)


def customer_table(lines: pd.DataFrame, states: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per customer with a line in [S, E] or a status or class at S or E: the
    status and classes at S and E and the sums of its lines per sale category (whoever
    recorded them), in units."""
    out = states.copy()
    sums = pd.DataFrame(columns=["customer_id", *[f"{c}_amount" for c in CATEGORIES]])
    if not lines.empty:
        pivot = lines.pivot_table(index="customer_id", columns="category", values="amount", aggfunc="sum")
        sums = pd.DataFrame({"customer_id": pivot.index})
        for category in CATEGORIES:
            sums[f"{category}_amount"] = pivot[category].values if category in pivot else 0
    out = out.merge(sums, on="customer_id", how="outer")
    for category in CATEGORIES:
        out[f"{category}_amount"] = out[f"{category}_amount"].fillna(0).astype("int64")
    text = [f"{n}_{s}" for n in ["status", "abc", "xyz"] for s in ["start", "end"]]
    out[text] = out[text].fillna("")
    out["manager_id"] = _ids(out["manager_id"], UNASSIGNED)
    return out[CUSTOMER_COLUMNS].sort_values("customer_id").reset_index(drop=True)


def plan_percentage(actual: int | Decimal, plan: int | Decimal | None) -> Decimal | None:
    """actual / plan in per cent, one decimal; None when there is no (or a zero) plan."""
    if not plan:
        return None
    return (Decimal(actual) * 100 / Decimal(plan)).quantize(Decimal("0.1"))


def compute(
    *,
    lines: pd.DataFrame,
    first_days: pd.DataFrame,
    first_line_days: pd.DataFrame,
    customers: pd.DataFrame,
    snap_start: pd.DataFrame | None,
    snap_end: pd.DataFrame | None,
    start,
    end,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(facts, by-customer table) for the period, from the frames the selectors give."""
    period = Period.of(start, end)
    categorised = categorise(lines, first_days, first_line_days)
    states = customer_states(customers, first_days, snap_start, snap_end, period)
    return facts(categorised, states, period), customer_table(categorised, states, period)


def month_edges(end, months: int = 12) -> list[pd.Timestamp]:
    """The edges of `months` month buckets ending on E, oldest first: bucket k is
    (edge[k], edge[k+1]], month arithmetic clipping to the month's end."""
    end = pd.Timestamp(end).normalize()
    return [end - pd.DateOffset(months=months - k) for k in range(months)] + [end]


def monthly_series(days: pd.DataFrame, end, months: int = 12) -> dict[int, list[int]]:
    """Each customer's sums (units) per month bucket to E, oldest first, from day rows
    (customer_id, date, amount): the by-customer table's sparkline."""
    if days.empty:
        return {}
    edges = month_edges(end, months)
    dates = _dates(days["date"])
    inside = (dates > edges[0]) & (dates <= edges[-1])
    frame = days[inside].assign(bucket=pd.cut(dates[inside], bins=edges, right=True, labels=False))
    table = frame.pivot_table(index="customer_id", columns="bucket", values="amount", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=range(months), fill_value=0)
    return {int(customer): [int(v) for v in values] for customer, values in zip(table.index, table.values, strict=True)}
