"""The ledger's read interface: how segmentation, loyalty and reporting read money.

No other app queries the ledger's tables directly (architecture.md). The day table
(SettlementDay, one row per customer and day, kept by the ledger's triggers) answers
per-customer-day questions at a tenth of the lines' cost; per-product-line questions need
the lines themselves. Money in the day table is in integer units of 1/10,000.
"""

import io
from collections import defaultdict
from datetime import date

import pandas as pd
from django.db import connection, transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Q, QuerySet

from .models import MONEY_PLACES, FirstPurchases, SettlementDay, SettlementLine

DAYS_TABLE = SettlementDay._meta.db_table

# The day table's money unit: amounts and costs are integers of 1/MONEY_UNIT.
MONEY_UNIT = 10**MONEY_PLACES


def day_sums(*, start: date | None = None, end: date | None = None) -> QuerySet:
    """The ledger summed per customer and day (SettlementDay rows), both ends inclusive:
    customer_id, date, amount and cost (integers of 1/MONEY_UNIT), lines, positive_lines."""
    days = SettlementDay.objects.all()
    if start is not None:
        days = days.filter(date__gte=start)
    if end is not None:
        days = days.filter(date__lte=end)
    return days


def first_days(*, up_to: date | None = None) -> QuerySet:
    """Each customer's first settlement day (on or before `up_to`): rows of
    {"customer_id", "first_date"}."""
    return day_sums(end=up_to).values("customer_id").annotate(first_date=Min("date")).order_by()


def first_line_days(*, up_to: date | None = None) -> QuerySet:
    """Each customer's first settlement day per product line (on or before `up_to`): rows of
    {"customer_id", "product_line_id", "first_date"}; product_line_id is None for lines
    without a product or whose product has no line ("no line" counts as a line of its own)."""
    lines = SettlementLine.objects.all()
    if up_to is not None:
        lines = lines.filter(date__lte=up_to)
    per_line = lines.values("customer_id", product_line_id=F("product__line_id"))
    return per_line.annotate(first_date=Min("date")).order_by()


def lines_between(start: date, end: date) -> QuerySet:
    """Settlement lines dated in [start, end], both inclusive."""
    return SettlementLine.objects.filter(date__gte=start, date__lte=end)


def customer_sums(
    *,
    up_to: date,
    since: date,
    amount_ranges: dict[str, tuple[date, date]],
    line_ranges: dict[str, tuple[date | None, date]],
) -> pd.DataFrame:
    """One row per customer with a line dated <= `up_to`, from one GROUP BY over the day
    table (the same SQL on PostgreSQL and SQLite): first_date (first day ever),
    last_date_since (last day after `since`), days_since (days with lines after `since`),
    cost_since, lines_total, then per named range (after, upto] the sum of amounts
    (amount_ranges) or the number of lines (line_ranges; after None: from the start).
    Money as int64 in 1/MONEY_UNIT, dates as datetime64."""
    amounts = [
        f"COALESCE(SUM(amount) FILTER (WHERE date > %s AND date <= %s), 0) AS {name}" for name in amount_ranges
    ]
    lines = [
        f"COALESCE(SUM(lines) FILTER (WHERE {'date > %s AND ' if after is not None else ''}date <= %s), 0) AS {name}"
        for name, (after, _upto) in line_ranges.items()
    ]
    # Only names chosen by our own callers are formatted in; every value is a parameter.
    sql = f"""
        SELECT customer_id,
               MIN(date) AS first_date,
               MAX(date) FILTER (WHERE date > %s) AS last_date_since,
               COUNT(*) FILTER (WHERE date > %s) AS days_since,
               COALESCE(SUM(cost) FILTER (WHERE date > %s), 0) AS cost_since,
               {", ".join([*lines, *amounts])},
               SUM(lines) AS lines_total
        FROM {DAYS_TABLE}
        WHERE date <= %s
        GROUP BY customer_id
    """
    values: list = [since, since, since]
    for after, upto in line_ranges.values():
        values += [value for value in (after, upto) if value is not None]
    for after, upto in amount_ranges.values():
        values += [after, upto]
    values.append(up_to)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # About 3 kB of sums per customer: PostgreSQL's default 4MB would spill the
                # hash table to disk in batches from a few thousand customers on.
                cursor.execute("SET LOCAL work_mem = '64MB'")
        return _fetch_frame(sql, values, dates=["first_date", "last_date_since"])


def first_purchase_days(*, up_to: date) -> pd.DataFrame:
    """Each customer's first and second distinct days with a positive line up to `up_to`:
    columns customer_id, first_date, second_date (None without a second). Read from the
    trigger-kept FirstPurchases: a customer's first two purchase days up to D are its
    first two where they fall on or before D."""
    rows = FirstPurchases.objects.filter(first_date__lte=up_to).order_by("customer_id")
    return pd.DataFrame.from_records(
        [
            (customer_id, first, second if second is not None and second <= up_to else None)
            for customer_id, first, second in rows.values_list("customer_id", "first_date", "second_date")
        ],
        columns=["customer_id", "first_date", "second_date"],
    )


def median_second_purchase_gap(*, up_to: date) -> float | None:
    """The median of the days from first to second purchase over the customers whose
    second purchase day is on or before `up_to` (None without any): the middle one or two
    entries of the (gap_days, second_date) index, in one query, where the page read every
    customer's first two days (numpy's median: the mean of the middle two for an even count)."""
    table = FirstPurchases._meta.db_table
    with connection.cursor() as cursor:
        # the count once (a CTE read twice), where two subqueries counted twice
        cursor.execute(
            f"WITH repeat AS (SELECT COUNT(*) AS n FROM {table} WHERE second_date <= %s) "
            f"SELECT gap_days FROM {table} WHERE second_date <= %s ORDER BY gap_days "
            f"LIMIT 2 - (SELECT n FROM repeat) %% 2 OFFSET ((SELECT n FROM repeat) - 1) / 2",
            [up_to, up_to],
        )
        middle = [row[0] for row in cursor.fetchall()]
    return sum(middle) / len(middle) if middle else None


def one_time_buyers(customers: QuerySet, *, up_to: date, first_from: date, first_to: date) -> QuerySet:
    """`customers` (a Customer queryset) narrowed to those whose first purchase day is in
    [first_from, first_to] and who made no second by `up_to`, each annotated with
    `first_purchase` (its first purchase day)."""
    return customers.filter(
        Q(first_purchases__second_date__isnull=True) | Q(first_purchases__second_date__gt=up_to),
        first_purchases__first_date__gte=first_from,
        first_purchases__first_date__lte=min(first_to, up_to),
    ).annotate(first_purchase=F("first_purchases__first_date"))


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


#
# complaints: who bought which product when (survey scheduling)
#


def product_days(*, up_to: date | None = None) -> QuerySet:
    """Each customer's first and last settlement day per product (on or before `up_to`):
    rows of {"customer_id", "product_id", "first_date", "last_date"}; lines without a
    product are left out."""
    lines = SettlementLine.objects.filter(product__isnull=False)
    if up_to is not None:
        lines = lines.filter(date__lte=up_to)
    return (
        lines.values("customer_id", "product_id")
        .annotate(first_date=Min("date"), last_date=Max("date"))
        .order_by()
    )


#
# segmentation (issue 11): the margin basis needs to know how much of the window has no cost
#


def lines_without_cost(*, after: date, up_to: date) -> int:
    """How many ledger lines dated in (after, up_to] have no cost (their margin counts as
    their whole amount)."""
    return SettlementLine.objects.filter(date__gt=after, date__lte=up_to, cost__isnull=True).count()


#
# loyalty: what points accrue on and reverse from
#


def lines_for_points(*, start: date | None = None, end: date | None = None, line_ids=None) -> QuerySet:
    """Settlement lines as rows of {"id", "customer_id", "date", "amount", "product_line_id"}
    (dated in [start, end] and/or with the given ids): positive lines earn points, negative
    ones (returns, refunds) take them back. Unordered; loyalty embeds it as a subquery."""
    lines = SettlementLine.objects.all()
    if start is not None:
        lines = lines.filter(date__gte=start)
    if end is not None:
        lines = lines.filter(date__lte=end)
    if line_ids is not None:
        lines = lines.filter(pk__in=line_ids)
    return lines.values("id", "customer_id", "date", "amount", product_line_id=F("product__line_id")).order_by()


def lines_of_the_same_sales(lines: QuerySet) -> QuerySet:
    """Every ledger line, whatever its date, of the sales the given lines belong to: same
    customer, same document (invoice) and same product, positive (the sale) or negative
    (its returns and refunds; a payment's refund carries its deal's document and products).
    Lines without a document belong to no known sale. Rows of {"id", "customer_id",
    "document", "product_id", "amount", "date"}; loyalty traces a refund to what its sale earned."""
    same = lines.model.objects.filter(
        customer_id=OuterRef("customer_id"), document=OuterRef("document"), product_id=OuterRef("product_id")
    ).filter(pk__in=lines.values("id"))
    return (
        SettlementLine.objects.exclude(document="")
        .filter(Exists(same))
        .values("id", "customer_id", "document", "product_id", "amount", "date")
        .order_by()
    )
