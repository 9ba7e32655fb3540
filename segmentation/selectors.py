"""Read side of segmentation: the one grouped query over the ledger's day table, and page queries."""

from datetime import date, datetime, time

import pandas as pd
from django.db.models import CharField, Count, F, FilteredRelation, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Customer
from sales_pipeline import selectors as ledger

from .classification import ClassificationParams, boundaries, bucket_columns
from .models import CustomerSnapshot


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


def abc_xyz_by_manager(*, as_of: date) -> list[tuple]:
    """(customer's manager id, abc, xyz, customers, ABC value) at `as_of`, for every
    customer: reporting's fill keeps them per manager so the dashboard sums a few rows."""
    return list(
        CustomerSnapshot.objects.filter(as_of=as_of)
        .exclude(abc="")
        .values_list("customer__manager_id", "abc", "xyz")
        .annotate(customers=Count("pk"), value=Sum("value"))
        .order_by()
    )


def lifecycle_by_manager(*, dates: list[date]) -> list[tuple]:
    """(customer's manager id, snapshot date, status, customers) for the given dates."""
    return list(
        CustomerSnapshot.objects.filter(as_of__in=dates)
        .values_list("customer__manager_id", "as_of", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
