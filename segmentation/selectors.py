"""Read side of segmentation: the one grouped query over the ledger's day table, and page queries."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple

import pandas as pd
from django.db import connection
from django.db.models import CharField, Count, DecimalField, F, FilteredRelation, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.access import counted_scope
from customers.models import Customer
from sales_pipeline import selectors as ledger
from sales_pipeline.models import MONEY_PLACES

from .classification import ClassificationParams, boundaries, bucket_columns
from .models import ClassInterval, CustomerSnapshot, RecomputeRun, SnapshotCount


def ledger_aggregates(*, as_of: date, params: ClassificationParams) -> pd.DataFrame:
    """One row per customer with a line dated <= D, with the columns classification.classify
    reads, from the ledger's read interface (one GROUP BY over its day table; money as
    exact integers of 1/10,000).

    The buckets tile the window exactly, so the window's revenue is the sum of the bucket
    sums and its margin that minus the window's costs; a day row counts as one distinct day."""
    bounds = boundaries(as_of, params)
    d, p1, p2 = bounds.period_edges
    edges = bounds.bucket_edges
    columns = bucket_columns(params)
    frame = ledger.customer_sums(
        up_to=d,
        since=bounds.window_start,
        line_ranges={"lines_p0": (p1, d), "lines_p1": (p2, p1)},
        amount_ranges={column: (edges[k + 1], edges[k]) for k, column in enumerate(columns)},
    )
    frame = frame.rename(columns={"last_date_since": "last_date_window", "days_since": "days_window"})
    frame["revenue_window"] = frame[columns].sum(axis=1) if columns else 0
    frame["margin_window"] = frame["revenue_window"] - frame.pop("cost_since")
    return frame


CLASS_NAMES = ("lifecycle_status", "abc_class", "xyz_class", "activity_segment")


def with_classes(queryset, as_of):
    """Annotate each customer's lifecycle status, ABC, XYZ and activity segment from the
    snapshot of `as_of`, in the same query (empty when nothing was classified yet)."""
    if as_of is None:
        return queryset.annotate(**{name: Value("", output_field=CharField()) for name in CLASS_NAMES})
    return queryset.annotate(
        current=FilteredRelation("snapshots", condition=Q(snapshots__as_of=as_of)),
        lifecycle_status=F("current__status"),
        abc_class=F("current__abc"),
        xyz_class=F("current__xyz"),
        activity_segment=F("current__rfm_segment"),
    )


def customers_without_lines(*, as_of: date, having_lines: pd.Series) -> list[int]:
    """Customers that existed on D with no line up to D: the potential ones."""
    end_of_day = timezone.make_aware(datetime.combine(as_of, time.max))
    existing = Customer.objects.filter(created_at__lte=end_of_day).values_list("pk", flat=True)
    return sorted(set(existing) - set(having_lines.tolist()))


def purchase_days(*, as_of: date) -> pd.DataFrame:
    """Each customer's first and second distinct days with a positive line up to D."""
    return ledger.first_purchase_days(up_to=as_of)


def median_second_purchase_gap(*, as_of: date) -> float | None:
    """The median days from first to second purchase of the customers with a second by D."""
    return ledger.median_second_purchase_gap(up_to=as_of)


def one_time_buyers(customers, *, as_of: date, ages: tuple[int, int]):
    """`customers` with a single purchase day by D, `ages[0]` to `ages[1]` days before D
    (classification.nudge_ages), annotated with `first_purchase`, by name, managers joined."""
    youngest, oldest = ages
    return (
        ledger.one_time_buyers(
            customers, up_to=as_of, first_from=as_of - timedelta(days=oldest), first_to=as_of - timedelta(days=youngest)
        )
        .select_related("manager")
        .order_by("name")
    )


def classes_as_of(as_of: date | None, calendar: "SnapshotCalendar | None" = None):
    """The classes and statuses of every customer as of `as_of`, from whichever store holds
    that date: its full snapshot (the last SNAPSHOT_WINDOW_DAYS days and month ends,
    figures included), or else the class intervals, which hold every computed date for
    ever. A queryset of rows with `customer`, `customer_id`, `status`, `abc`, `xyz` and
    `rfm_segment` (and `visible_to(user)`); the figures (value, cov, r, f, m, ...) only when
    `has_figures(rows)`. Empty for a date no recompute finished. Two queries at most, none
    with a `calendar` (snapshot_calendar) read in the same request."""
    snapshots = CustomerSnapshot.objects.filter(as_of=as_of)
    if calendar is not None:  # the same decision from the dates already read
        if as_of is None or as_of in calendar.held or as_of not in calendar.done:
            return snapshots
        return ClassInterval.objects.filter(valid_from__lte=as_of, valid_to__gt=as_of)
    # Whether the date has rows, read in the (as_of, customer) index's order: exists() is
    # unordered, and PostgreSQL then scanned the table from its oldest rows to the newest
    # date's first one (160,000 rows, 13 ms, to find today's).
    if as_of is None or snapshots.order_by("customer_id").values_list("pk", flat=True).first() is not None:
        return snapshots
    if not RecomputeRun.objects.filter(as_of=as_of, status=RecomputeRun.Status.DONE).exists():
        return snapshots  # none
    return ClassInterval.objects.filter(valid_from__lte=as_of, valid_to__gt=as_of)


def has_figures(rows) -> bool:
    """Whether `rows` (from classes_as_of) carry the figures: a full snapshot."""
    return rows.model is CustomerSnapshot


def computed_date_on_or_before(as_of: date) -> date | None:
    """The newest date on or before `as_of` whose classes can be read (classes_as_of).
    Two index probes in one query: a UNION of the two sides, sorted, first read every
    snapshot date of the table (a pass over hundreds of thousands of index entries)."""
    runs, snapshots = RecomputeRun._meta.db_table, CustomerSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MAX(d) FROM (SELECT MAX(as_of) AS d FROM {runs} WHERE status = %s AND as_of <= %s "
            f"UNION ALL SELECT MAX(as_of) FROM {snapshots} WHERE as_of <= %s) AS newest",
            [RecomputeRun.Status.DONE, as_of, as_of],
        )
        return _as_date(cursor.fetchone()[0])


class SnapshotCalendar(NamedTuple):
    """snapshot_dates with what they are made of: the dates holding snapshot rows (`held`)
    and those of finished recomputes (`done`), from which classes_as_of tells a date's store
    without asking the database again."""

    dates: list[date]
    held: frozenset[date]
    done: frozenset[date]


def snapshot_dates() -> list[date]:
    """The dates whose classes can be read, newest first: every finished recompute's,
    and any date holding snapshot rows."""
    return snapshot_calendar().dates


def snapshot_calendar() -> SnapshotCalendar:
    """snapshot_dates and the two sets they come from, in two queries. The snapshot dates
    are read by skipping down the (as_of, customer) index, one probe per date, where
    DISTINCT read every row's entry."""
    runs = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE).values_list("as_of", flat=True)
    table = CustomerSnapshot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE held(as_of) AS ("
            f" SELECT MAX(as_of) FROM {table}"
            f" UNION ALL SELECT (SELECT MAX(as_of) FROM {table} WHERE as_of < held.as_of) FROM held"
            f" WHERE held.as_of IS NOT NULL"
            f") SELECT as_of FROM held WHERE as_of IS NOT NULL"
        )
        held = frozenset(_as_date(row[0]) for row in cursor.fetchall())
    done = frozenset(runs)
    return SnapshotCalendar(sorted(done | held, reverse=True), held, done)


def _as_date(value) -> date | None:
    """A date from a raw query: SQLite hands MAX() of a date column back as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def abc_xyz_matrix(rows) -> dict:
    """Customers and ABC value per (ABC, XYZ) cell; XYZ "" is a class without XYZ (new).
    The value is None where `rows` hold no figures (a pruned date, classes_as_of)."""
    value = Sum("value") if has_figures(rows) else Value(None, output_field=DecimalField())
    rows = rows.exclude(abc="").values("abc", "xyz").annotate(customers=Count("pk"), value=value)
    return {(row["abc"], row["xyz"]): row for row in rows}


def status_counts(snapshots) -> dict[str, int]:
    return dict(snapshots.values_list("status").annotate(n=Count("pk")).order_by())


def rfm_matrix(snapshots) -> dict[tuple[int, int], int]:
    """Customers per (R score, F score); empty where the rows hold no figures."""
    if not has_figures(snapshots):
        return {}
    rows = snapshots.filter(r__isnull=False).values_list("r", "f").annotate(n=Count("pk")).order_by()
    return {(r, f): n for r, f, n in rows}


# abc_xyz_matrix, status_counts, rfm_matrix, customers per activity segment
OverviewCounts = tuple[dict, dict[str, int], dict[tuple[int, int], int], dict[str, int]]


def overview_counts(rows) -> OverviewCounts:
    """abc_xyz_matrix, status_counts, rfm_matrix and the customers per activity segment of
    `rows` (from classes_as_of) from one grouped query, where the four cost a pass each
    over the date's 40,000 rows; each is the sum of the finer groups."""
    figures = has_figures(rows)
    by = ["abc", "xyz", "status", "rfm_segment", *(["r", "f"] if figures else [])]
    value = Sum("value") if figures else Value(None, output_field=DecimalField())
    return _overview_sums(rows.values(*by).annotate(customers=Count("pk"), value=value).order_by(), figures=figures)


def overview_counts_of_snapshot(*, user, as_of: date) -> OverviewCounts:
    """overview_counts of the full snapshot of `as_of` as `user` sees it, from the
    trigger-kept SnapshotCount rows of the user's managers (a few hundred rows whatever
    the size of the base) plus, for a manager, the handed-over customers' own rows."""
    counted, covered = customer_scope_counted(user)
    by = ["abc", "xyz", "status", "rfm_segment", "r", "f"]
    sums = (
        SnapshotCount.objects.filter(counted, as_of=as_of)
        .values(*by)
        .annotate(customers=Sum("customers"), valued=Sum("valued"), units=Sum("value_units"))
        .order_by()
    )
    rows = [
        {
            **row,
            "r": row["r"] or None,
            "f": row["f"] or None,
            "value": Decimal(row["units"]).scaleb(-MONEY_PLACES) if row["valued"] else None,
        }
        for row in sums
    ]
    if covered is not None:
        rows += (
            CustomerSnapshot.objects.filter(as_of=as_of, customer_id__in=covered)
            .values(*by)
            .annotate(customers=Count("pk"), value=Sum("value"))
            .order_by()
        )
    return _overview_sums(rows, figures=True)


def customer_scope_counted(user):
    """access.counted_scope on SnapshotCount: (a filter on its rows, the handed-over
    customers' ids to count one by one or None)."""
    return counted_scope(user, manager="manager_id")


def _overview_sums(rows, *, figures: bool) -> OverviewCounts:
    matrix: dict = {}
    statuses: dict[str, int] = {}
    rfm: dict[tuple[int, int], int] = {}
    segments: dict[str, int] = {}
    for row in rows:
        n = row["customers"]
        if row["abc"] != "":
            cell = matrix.setdefault(
                (row["abc"], row["xyz"]), {"abc": row["abc"], "xyz": row["xyz"], "customers": 0, "value": None}
            )
            cell["customers"] += n
            if row["value"] is not None:
                cell["value"] = row["value"] if cell["value"] is None else cell["value"] + row["value"]
        statuses[row["status"]] = statuses.get(row["status"], 0) + n
        segments[row["rfm_segment"]] = segments.get(row["rfm_segment"], 0) + n
        if figures and row["r"] is not None:
            rfm[(row["r"], row["f"])] = rfm.get((row["r"], row["f"]), 0) + n
    return matrix, statuses, rfm, segments


def class_changes(*, user, before: date, after: date, field: str = "abc", calendar: SnapshotCalendar | None = None):
    """Customers' classes at `after` (classes_as_of rows) whose `field` (abc, xyz or
    status) differs from the same customer's at `before`, the old value annotated as
    `previous` ("" when the customer had no classes then). One query for the list,
    scoped to the user (plus classes_as_of's look-ups and the finished runs' count, none
    of them with the `calendar` the page read its dates from)."""
    # The old classes joined through the customer (at most one row of a date per customer),
    # where a subquery per row made the page's count and rows cost one look-up per customer.
    if has_figures(classes_as_of(before, calendar)):  # a full snapshot, or no classes that day (no row joins)
        old = FilteredRelation("customer__snapshots", condition=Q(customer__snapshots__as_of=before))
    else:
        old = FilteredRelation(
            "customer__class_intervals",
            condition=Q(
                customer__class_intervals__valid_from__lte=before, customer__class_intervals__valid_to__gt=before
            ),
        )
    rows = classes_as_of(after, calendar).visible_to(user)
    if calendar is not None:
        both_done = before in calendar.done and after in calendar.done
    else:  # as_of is unique: two finished runs are the two dates'
        both_done = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE, as_of__in=[before, after]).count() == 2
    if before != after and both_done:
        # Both dates computed: the intervals hold both dates' classes, so a customer whose
        # classes differ (or who had none on one of them) has no interval holding both: an
        # interval of theirs starts or ends after the earlier date and on or before the
        # later. Only those are compared, where the page joined the user's whole base.
        first, last = sorted([before, after])
        moved = ClassInterval.objects.filter(
            Q(valid_from__gt=first, valid_from__lte=last) | Q(valid_to__gt=first, valid_to__lte=last)
        ).values("customer_id")
        # As an array read first (crm_project.lookups): with a plain IN the planner walked
        # the visible customers in name order probing each for a change (4,901 probes for
        # the director's first page at 50,000 customers, 68 ms); the array's few hundred
        # customers are read and sorted instead (12 ms).
        rows = rows.filter(customer_id__in_array=moved)
    return (
        rows.annotate(old=old, previous=Coalesce(F(f"old__{field}"), Value("")))
        .exclude(previous=F(field))
        .select_related("customer", "customer__manager")
    )


def _status_counts_on(dates: list[date], *, scope, by: tuple[str, ...] = ()) -> list[tuple]:
    """(date, *by, status, customers) rows for the given dates, each date read from the
    store that holds it (as classes_as_of), rows narrowed by `scope(queryset)`: one query
    for the dates with a full snapshot, one per date read from the intervals, two to tell
    which is which."""
    held = set(CustomerSnapshot.objects.filter(as_of__in=dates).values_list("as_of", flat=True).distinct().order_by())
    rows = list(
        scope(CustomerSnapshot.objects)
        .filter(as_of__in=held)
        .values_list("as_of", *by, "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    done = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE, as_of__in=dates).values_list("as_of", flat=True)
    for as_of in sorted(set(done) - held):
        intervals = scope(ClassInterval.objects).filter(valid_from__lte=as_of, valid_to__gt=as_of)
        counted = intervals.values_list(*by, "status").annotate(n=Count("pk")).order_by()
        rows.extend((as_of, *row) for row in counted)
    return rows


def lifecycle_counts(*, user, dates: list[date]) -> dict[tuple[date, str], int]:
    """Customers per (date, status) for the given dates, scoped to the user: the dates
    with a full snapshot from the trigger-kept SnapshotCount rows of the user's managers
    (plus a manager's handed-over customers one by one), the others from the intervals."""
    counted, covered = customer_scope_counted(user)
    held = set(SnapshotCount.objects.filter(as_of__in=dates).values_list("as_of", flat=True).distinct().order_by())
    rows = list(
        SnapshotCount.objects.filter(counted, as_of__in=held)
        .values_list("as_of", "status")
        .annotate(n=Sum("customers"))
        .order_by()
    )
    if covered is not None:
        rows += (
            CustomerSnapshot.objects.filter(as_of__in=held, customer_id__in=covered)
            .values_list("as_of", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
    done = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE, as_of__in=dates).values_list("as_of", flat=True)
    for as_of in sorted(set(done) - held):
        intervals = ClassInterval.objects.visible_to(user).filter(valid_from__lte=as_of, valid_to__gt=as_of)
        rows += [(as_of, *row) for row in intervals.values_list("status").annotate(n=Count("pk")).order_by()]
    counts: dict[tuple[date, str], int] = {}
    for as_of, status, n in rows:
        counts[(as_of, status)] = counts.get((as_of, status), 0) + n
    return counts


def abc_xyz_by_manager(*, as_of: date) -> list[tuple]:
    """(customer's manager id, abc, xyz, customers, ABC value) at `as_of`, for every
    customer: reporting's fill keeps them per manager so the dashboard sums a few rows.
    The value is None for a pruned date (classes_as_of)."""
    rows = classes_as_of(as_of)
    value = Sum("value") if has_figures(rows) else Value(None, output_field=DecimalField())
    return list(
        rows.exclude(abc="")
        .values_list("customer__manager_id", "abc", "xyz")
        .annotate(customers=Count("pk"), value=value)
        .order_by()
    )


def lifecycle_by_manager(*, dates: list[date]) -> list[tuple]:
    """(customer's manager id, date, status, customers) for the given dates, every customer."""
    rows = _status_counts_on(dates, scope=lambda objects: objects.all(), by=("customer__manager_id",))
    return [(manager_id, as_of, status, n) for as_of, manager_id, status, n in rows]
