"""Read side of segmentation: the one grouped query over the ledger, and page queries."""

from datetime import date, datetime, time, timedelta

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from sales_pipeline.models import MONEY_PLACES

from .classification import ClassificationParams, boundaries, bucket_columns
from .models import CustomerSnapshot

# Money leaves the database as integers of 1/10,000 (the ledger's four decimals), so
# the classification sums and compares it exactly.
MINOR_UNITS = 10**MONEY_PLACES


def _money_sum(expression: str) -> str:
    if connection.vendor == "postgresql":
        # numeric sums are exact; scale once per customer, not per line
        return f"CAST(SUM({expression}) * {MINOR_UNITS} AS BIGINT)"
    # SQLite keeps decimals as floats: round each line to whole units, then sum integers.
    return f"SUM(CAST(ROUND(({expression}) * {MINOR_UNITS}) AS INTEGER))"


def ledger_aggregates(*, as_of: date, params: ClassificationParams) -> pd.DataFrame:
    """One row per customer with a line dated <= D, with the columns classification.classify
    reads. A single GROUP BY over the ledger: the job's cost is this scan."""
    if connection.vendor == "postgresql":
        sql, values = _aggregate_sql_postgresql(as_of, params)
        with transaction.atomic(), connection.cursor() as cursor:
            # the per-customer day bitmaps and sums fit in memory instead of spilling to disk
            cursor.execute("SET LOCAL work_mem = '256MB'")
            return _fetch_frame(cursor, sql, values)
    sql, values = _aggregate_sql_portable(as_of, params)
    with connection.cursor() as cursor:
        return _fetch_frame(cursor, sql, values)


def _fetch_frame(cursor, sql: str, values: list) -> pd.DataFrame:
    cursor.execute(sql, values)
    columns = [col[0] for col in cursor.description]
    frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for column in columns[3:]:
        frame[column] = frame[column].fillna(0).astype("int64")
    return frame


def _aggregate_sql_portable(as_of: date, params: ClassificationParams) -> tuple[str, list]:
    """Plain SQL that SQLite runs (and PostgreSQL too, more slowly: COUNT(DISTINCT) there
    rules out hashing and parallel workers)."""
    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges = bounds.bucket_edges
    buckets = ",\n".join(
        f"{_money_sum('CASE WHEN date > %s AND date <= %s THEN amount END')} AS {column}"
        for column in bucket_columns(params)
    )
    # Only our own column names are formatted in; every value is a parameter.
    sql = f"""
        SELECT customer_id,
               MIN(date) AS first_date,
               MAX(CASE WHEN date > %s THEN date END) AS last_date_window,
               COUNT(DISTINCT CASE WHEN date > %s THEN date END) AS days_window,
               {_money_sum("CASE WHEN date > %s THEN amount END")} AS revenue_window,
               {_money_sum("CASE WHEN date > %s THEN amount - COALESCE(cost, 0) END")} AS margin_window,
               SUM(CASE WHEN date > %s THEN 1 ELSE 0 END) AS lines_p0,
               SUM(CASE WHEN date > %s AND date <= %s THEN 1 ELSE 0 END) AS lines_p1,
               {buckets},
               COUNT(*) AS lines_total
        FROM sales_pipeline_settlementline
        WHERE date <= %s
        GROUP BY customer_id
    """
    ws = bounds.window_start
    values = [ws, ws, ws, ws, p1, p2, p1]
    for k in range(params.bucket_count):
        values += [edges[k + 1], edges[k]]
    values.append(d)
    return sql, values


def _aggregate_sql_postgresql(as_of: date, params: ClassificationParams) -> tuple[str, list]:
    """The same frame in one pass of aggregates PostgreSQL can run in parallel workers.

    Distinct days in the window are kept as bits: day i of the window (1 = the day after
    its start) sets bit (i - 1) % 64 of word (i - 1) // 64 through bit_or, and
    days_window is the sum of the words' bit_count (PostgreSQL 14+). The window revenue
    is the sum of the bucket sums (the buckets tile the window exactly) and the margin
    that minus the window's costs, so each line feeds one money sum plus its cost.
    bench/bench_recompute.py measured it at about twice as fast as the portable query."""
    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges, ws = bounds.bucket_edges, bounds.window_start
    words = -(-(d - ws).days // 64)
    columns = bucket_columns(params)
    values: list = [ws]
    bits = []
    for k in range(words):
        # word k holds the days (ws + 64k, ws + 64(k + 1)]; the first of them is bit 0
        bits.append(f"bit_or(1::bigint << (date - %s)) FILTER (WHERE date > %s AND date <= %s) AS w{k}")
        values += [ws + timedelta(days=64 * k + 1), ws + timedelta(days=64 * k), ws + timedelta(days=64 * (k + 1))]
    values += [ws, p1, p2, p1]
    sums = []
    for k, column in enumerate(columns):
        sums.append(f"SUM(amount) FILTER (WHERE date > %s AND date <= %s) AS {column}")
        values += [edges[k + 1], edges[k]]
    values.append(d)
    window_revenue = " + ".join(f"COALESCE({column}, 0)" for column in columns)
    days = " + ".join(f"COALESCE(bit_count(w{k}::bit(64)), 0)" for k in range(words))
    scaled = ", ".join(f"CAST({column} * {MINOR_UNITS} AS BIGINT) AS {column}" for column in columns)
    sql = f"""
        SELECT customer_id, first_date, last_date_window,
               {days} AS days_window,
               CAST(({window_revenue}) * {MINOR_UNITS} AS BIGINT) AS revenue_window,
               CAST(({window_revenue} - COALESCE(cost_window, 0)) * {MINOR_UNITS} AS BIGINT) AS margin_window,
               lines_p0, lines_p1,
               {scaled},
               lines_total
        FROM (
            SELECT customer_id,
                   MIN(date) AS first_date,
                   MAX(date) FILTER (WHERE date > %s) AS last_date_window,
                   {", ".join(bits)},
                   SUM(cost) FILTER (WHERE date > %s) AS cost_window,
                   COUNT(*) FILTER (WHERE date > %s) AS lines_p0,
                   COUNT(*) FILTER (WHERE date > %s AND date <= %s) AS lines_p1,
                   {", ".join(sums)},
                   COUNT(*) AS lines_total
            FROM sales_pipeline_settlementline
            WHERE date <= %s
            GROUP BY customer_id
        ) AS per_customer
    """
    return sql, values


def customers_without_lines(*, as_of: date, having_lines: pd.Series) -> list[int]:
    """Customers that existed on D with no line up to D: the potential ones."""
    end_of_day = timezone.make_aware(datetime.combine(as_of, time.max))
    existing = Customer.objects.filter(created_at__lte=end_of_day).values_list("pk", flat=True)
    return sorted(set(existing) - set(having_lines.tolist()))


def purchase_days(*, as_of: date) -> pd.DataFrame:
    """Each customer's first and second distinct days with a positive line up to D."""
    sql = """
        SELECT customer_id, MIN(date) AS first_date,
               MIN(CASE WHEN date > first_day THEN date END) AS second_date
        FROM (
            SELECT customer_id, date, MIN(date) OVER (PARTITION BY customer_id) AS first_day
            FROM sales_pipeline_settlementline
            WHERE date <= %s AND amount > 0
        ) AS lines
        GROUP BY customer_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of])
        return pd.DataFrame.from_records(cursor.fetchall(), columns=["customer_id", "first_date", "second_date"])


def snapshot_dates() -> list[date]:
    return list(CustomerSnapshot.objects.order_by("-as_of").values_list("as_of", flat=True).distinct())


def abc_xyz_matrix(snapshots) -> dict:
    """Customers and ABC value per (ABC, XYZ) cell; XYZ "" is a class without XYZ (new)."""
    rows = snapshots.exclude(abc="").values("abc", "xyz").annotate(customers=Count("pk"), value=Sum("value"))
    return {(row["abc"], row["xyz"]): row for row in rows}


def status_counts(snapshots) -> dict[str, int]:
    return dict(snapshots.values_list("status").annotate(n=Count("pk")).order_by())


def rfm_matrix(snapshots) -> dict[tuple[int, int], int]:
    """Customers per (R score, F score)."""
    rows = snapshots.filter(r__isnull=False).values_list("r", "f").annotate(n=Count("pk")).order_by()
    return {(r, f): n for r, f, n in rows}


def class_changes(*, user, before: date, after: date, field: str = "abc"):
    """Snapshots at `after` whose `field` (abc, xyz or status) differs from the same
    customer's at `before`, the old value annotated as `previous` ("" when the customer
    had no snapshot then). One query, scoped to the user."""
    old = CustomerSnapshot.objects.filter(as_of=before, customer=OuterRef("customer")).values(field)[:1]
    return (
        CustomerSnapshot.objects.visible_to(user)
        .filter(as_of=after)
        .annotate(previous=Coalesce(Subquery(old), Value("")))
        .exclude(previous=F(field))
        .select_related("customer", "customer__manager")
    )


def lifecycle_counts(*, user, dates: list[date]) -> dict[tuple[date, str], int]:
    """Customers per (snapshot date, status) for the given dates, scoped to the user."""
    rows = (
        CustomerSnapshot.objects.visible_to(user)
        .filter(as_of__in=dates)
        .values_list("as_of", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(as_of, status): n for as_of, status, n in rows}
