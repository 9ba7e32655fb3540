"""Read side of segmentation: the one grouped query over the ledger's day table, and page queries."""

import io
from collections import defaultdict
from datetime import date, datetime, time

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from sales_pipeline.models import SettlementDay

from .classification import ClassificationParams, boundaries, bucket_columns
from .models import CustomerSnapshot

# Money arrives as exact integers of 1/10,000 (the day table's units), so the
# classification sums and compares it exactly.
DAYS_TABLE = SettlementDay._meta.db_table


def ledger_aggregates(*, as_of: date, params: ClassificationParams) -> pd.DataFrame:
    """One row per customer with a line dated <= D, with the columns classification.classify
    reads, from one GROUP BY over the ledger's day table (SettlementDay: one row per
    customer and day, kept by the ledger's triggers). The same SQL on PostgreSQL and SQLite.

    The buckets tile the window exactly, so the window's revenue is the sum of the bucket
    sums and its margin that minus the window's costs; a day row counts as one distinct day."""
    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges, ws = bounds.bucket_edges, bounds.window_start
    columns = bucket_columns(params)
    buckets = ",\n".join(
        f"COALESCE(SUM(amount) FILTER (WHERE date > %s AND date <= %s), 0) AS {column}" for column in columns
    )
    # Only our own column names are formatted in; every value is a parameter.
    sql = f"""
        SELECT customer_id,
               MIN(date) AS first_date,
               MAX(date) FILTER (WHERE date > %s) AS last_date_window,
               COUNT(*) FILTER (WHERE date > %s) AS days_window,
               COALESCE(SUM(cost) FILTER (WHERE date > %s), 0) AS cost_window,
               COALESCE(SUM(lines) FILTER (WHERE date > %s), 0) AS lines_p0,
               COALESCE(SUM(lines) FILTER (WHERE date > %s AND date <= %s), 0) AS lines_p1,
               {buckets},
               SUM(lines) AS lines_total
        FROM {DAYS_TABLE}
        WHERE date <= %s
        GROUP BY customer_id
    """
    values: list = [ws, ws, ws, p1, p2, p1]
    for k in range(len(columns)):
        values += [edges[k + 1], edges[k]]
    values.append(d)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # About 3 kB of sums per customer: PostgreSQL's default 4MB would spill the
                # hash table to disk in batches from a few thousand customers on.
                cursor.execute("SET LOCAL work_mem = '64MB'")
        frame = _fetch_frame(sql, values, dates=["first_date", "last_date_window"])
    frame["revenue_window"] = frame[columns].sum(axis=1) if columns else 0
    frame["margin_window"] = frame["revenue_window"] - frame.pop("cost_window")
    return frame


def _fetch_frame(sql: str, values: list, *, dates: list[str]) -> pd.DataFrame:
    """The query's rows as a DataFrame: the `dates` columns as datetime64, every other
    column as int64 (SQL sums of bigint may arrive as numeric). On PostgreSQL through
    COPY ... TO STDOUT and pandas' CSV reader: fetchall() alone took 0.45 s of a 0.93 s
    aggregate for 40,000 customers (bench/README.md)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            raw = cursor.cursor
            raw.copy_expert(f"COPY ({raw.mogrify(sql, values).decode()}) TO STDOUT WITH (FORMAT csv, HEADER)", buffer)
            buffer.seek(0)
            # int64 throughout: a sum beyond it fails here instead of turning into a float
            frame = pd.read_csv(buffer, dtype=defaultdict(lambda: "int64", {name: str for name in dates}))
        else:
            cursor.execute(sql, values)
            columns = [column[0] for column in cursor.description]
            frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for column in frame.columns:
        if column in dates:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
        else:
            frame[column] = frame[column].astype("int64")
    return frame


def customers_without_lines(*, as_of: date, having_lines: pd.Series) -> list[int]:
    """Customers that existed on D with no line up to D: the potential ones."""
    end_of_day = timezone.make_aware(datetime.combine(as_of, time.max))
    existing = Customer.objects.filter(created_at__lte=end_of_day).values_list("pk", flat=True)
    return sorted(set(existing) - set(having_lines.tolist()))


def purchase_days(*, as_of: date) -> pd.DataFrame:
    """Each customer's first and second distinct days with a positive line up to D."""
    sql = f"""
        SELECT customer_id, MIN(date) AS first_date,
               MIN(CASE WHEN date > first_day THEN date END) AS second_date
        FROM (
            SELECT customer_id, date, MIN(date) OVER (PARTITION BY customer_id) AS first_day
            FROM {DAYS_TABLE}
            WHERE date <= %s AND positive_lines > 0
        ) AS days
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
