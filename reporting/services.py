"""Reporting's writes: filling a period's pre-aggregated KPI rows, the Monday e-mail.

kpi_period_fill is the one writer of KpiFact and KpiCustomerRow. It makes sure the two
snapshots it needs exist (as of S - 1 and as of E, computed on demand through
segmentation's recompute, never for a date after today), computes with reporting.kpis
and replaces the period's rows in one transaction: run twice, the same rows; stopped
half-way, the previous rows stay (the way Zulip's analytics fill their counts).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.dates import business_today
from crm_project.number_text import grouped
from customers.access import DIRECTOR
from segmentation.models import RecomputeRun
from segmentation.services import segments_recompute

from . import dashboard_facts, kpis, periods, selectors
from .models import DashboardCell, KpiCell, KpiCustomerRow, KpiFact, KpiPeriod

logger = logging.getLogger(__name__)
WRITE_BATCH = 5_000


class FutureDate(ValueError):
    """A period ending after today: the classes of a future date do not exist yet."""


def snapshot_ensure(*, as_of: date) -> None:
    """The snapshot as of `as_of` exists, computing it now if not (never for a future date)."""
    if as_of > business_today():
        raise FutureDate(as_of)
    if not RecomputeRun.objects.filter(as_of=as_of, status=RecomputeRun.Status.DONE).exists():
        segments_recompute(as_of=as_of, triggered_by="reporting")


@dataclass
class FillInputs:
    """What every period's fill reads whatever its dates, read once for a batch of fills
    (the nightly presets) rather than once per period."""

    customers: pd.DataFrame
    products: dict  # customer id -> products in use now (the dashboard's block)
    first_days: pd.DataFrame
    first_line_days: pd.DataFrame
    up_to: date
    read_at: datetime

    @classmethod
    def read(cls, up_to: date) -> FillInputs:
        return cls(
            read_at=timezone.now(),
            customers=selectors.customers_frame(),
            products=selectors.products_in_use(),
            first_days=selectors.first_days(up_to),
            first_line_days=selectors.first_line_days(up_to),
            up_to=up_to,
        )

    def first_days_to(self, end: date) -> pd.DataFrame:
        # A first day after E is no line by E: the same rows as reading up to E.
        return self.first_days[pd.to_datetime(self.first_days["first_date"]) <= pd.Timestamp(end)]

    def first_line_days_to(self, end: date) -> pd.DataFrame:
        return self.first_line_days[pd.to_datetime(self.first_line_days["first_date"]) <= pd.Timestamp(end)]


def kpi_period_fill(*, start: date, end: date, inputs: FillInputs | None = None) -> KpiPeriod:
    """Compute the KPIs of [start, end] and store their rows (replacing the period's):
    the facts, the cells the table by manager sums, the by-customer rows. `inputs`: read
    once by a caller filling several periods (they must reach `end`)."""
    if start > end:
        raise ValueError("The period starts after it ends.")
    started = time.monotonic()
    snap_start = start - timedelta(days=1)
    snapshot_ensure(as_of=snap_start)
    snapshot_ensure(as_of=end)
    if inputs is None or inputs.up_to < end:
        inputs = FillInputs.read(end)
    began = inputs.read_at  # what these rows cannot have seen came after this
    facts, by_customer = kpis.compute(
        lines=selectors.period_lines(start, end),
        first_days=inputs.first_days_to(end),
        first_line_days=inputs.first_line_days_to(end),
        customers=inputs.customers,
        snap_start=selectors.snapshot_frame(snap_start),
        snap_end=selectors.snapshot_frame(end),
        start=start,
        end=end,
    )
    facts = kpis.mark_shared(facts)
    cells = kpis.cells(facts)
    days = selectors.day_rows(end)
    monthly = kpis.monthly_series(days, end)
    products = inputs.products
    blocks = dashboard_facts.compute(start=start, end=end, days=days, customers=inputs.customers, products=products)
    names = dict(zip(inputs.customers["customer_id"], inputs.customers["name"], strict=True))
    with transaction.atomic():
        period, _created = KpiPeriod.objects.select_for_update().get_or_create(start=start, end=end)
        KpiFact.objects.filter(period=period).delete()
        KpiCell.objects.filter(period=period).delete()
        DashboardCell.objects.filter(period=period).delete()
        KpiCustomerRow.objects.filter(period=period).delete()
        KpiFact.objects.bulk_create(
            (
                KpiFact(
                    period=period,
                    customer_id=int(row.customer_id),
                    manager_id=int(row.manager_id) or None,
                    kpi=row.kpi,
                    amount=int(row.amount),
                    shared=bool(row.shared),
                )
                for row in facts.itertuples(index=False)
            ),
            batch_size=WRITE_BATCH,
        )
        KpiCell.objects.bulk_create(
            KpiCell(period=period, manager_id=int(row.manager_id) or None, kpi=row.kpi,
                    customers=int(row.customers), amount=int(row.amount))  # fmt: skip
            for row in cells.itertuples(index=False)
        )
        DashboardCell.objects.bulk_create(
            DashboardCell(period=period, manager_id=manager_id, block=block, key=key, n=n, amount=amount, days=extra)
            for manager_id, block, key, n, amount, extra in blocks
        )
        KpiCustomerRow.objects.bulk_create(
            (
                KpiCustomerRow(
                    period=period,
                    customer_id=int(row.customer_id),
                    manager_id=int(row.manager_id) or None,
                    name=names.get(row.customer_id, "")[:200],
                    status_start=row.status_start,
                    status_end=row.status_end,
                    abc_start=row.abc_start,
                    abc_end=row.abc_end,
                    xyz_start=row.xyz_start,
                    xyz_end=row.xyz_end,
                    primary_amount=kpis.from_units(row.primary_amount),
                    repeat_amount=kpis.from_units(row.repeat_amount),
                    new_direction_amount=kpis.from_units(row.new_direction_amount),
                    monthly=monthly.get(int(row.customer_id), [0] * 12),
                )
                for row in by_customer.itertuples(index=False)
            ),
            batch_size=WRITE_BATCH,
        )
        period.computed_at = timezone.now()
        period.customers = len(by_customer)
        period.seconds = time.monotonic() - started
        # A ledger write that came after this fill began reading is not in these rows.
        if period.stale_since is not None and period.stale_since <= began:
            period.stale_since = None
        period.save()
    if connection.vendor == "postgresql":
        # A fill replaces tens of thousands of rows at once: fresh statistics, or the pages'
        # planner guesses from the empty table it saw before (a sort of every row).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE reporting_kpicustomerrow, reporting_kpifact, reporting_kpicell")
    logger.info("KPIs of %s..%s: %d facts, %d customers in %.1f s", start, end, len(facts), len(by_customer),
                period.seconds)  # fmt: skip
    return period


def kpi_presets_fill(*, today: date | None = None) -> list[KpiPeriod]:
    """The nightly fill: every preset period as of today (and the ones before them, for
    the dashboard's deltas), so that the pages open on rows already there; then every
    other stored period a ledger write left stale."""
    today = today or business_today()
    wanted = []
    for key in periods.PRESETS:
        period = periods.preset(key, today)
        for start, end in (period, periods.previous(*period)):
            if (start, end) not in wanted:
                wanted.append((start, end))
    inputs = FillInputs.read(max(end for _start, end in wanted))
    filled = [kpi_period_fill(start=start, end=end, inputs=inputs) for start, end in wanted]
    return filled + kpi_stale_fill(inputs=inputs)


def kpi_periods_mark_stale(*, since: date) -> int:
    """A ledger write touched lines dated `since` or later: every stored period ending on
    or after it may count them (their categories, potential and conversion look back to
    the first day ever), so it is stale. One UPDATE however many lines were written;
    the earliest unrefreshed write is kept. Returns the periods marked."""
    return KpiPeriod.objects.filter(end__gte=since, stale_since__isnull=True).update(stale_since=timezone.now())


def kpi_stale_fill(*, inputs: FillInputs | None = None, rounds: int = 3) -> list[KpiPeriod]:
    """Refill the periods ledger writes left stale, most recent first, then those writes
    made meanwhile marked (up to `rounds` passes; the nightly job takes any left).
    Idempotent (a period refilled for nothing gets the same rows) and resumable (a period
    whose fill died is still stale, and the next run takes it)."""
    filled = []
    for _round in range(rounds):
        stale = list(KpiPeriod.objects.filter(stale_since__isnull=False).order_by("-end", "-start"))
        if not stale:
            break
        up_to = max(p.end for p in stale)
        if inputs is None or inputs.up_to < up_to or filled:
            inputs = FillInputs.read(up_to)  # after a round: read what the new writes changed
        filled += [kpi_period_fill(start=p.start, end=p.end, inputs=inputs) for p in stale]
    return filled


def ledger_changed(*, since: date) -> None:
    """hooks.LEDGER_CHANGED: mark the periods stale now, in the writer's transaction, and
    refill them in the background once it commits (the nightly job catches any missed)."""
    if kpi_periods_mark_stale(since=since):
        transaction.on_commit(_refill_stale_soon)


def _refill_stale_soon() -> None:
    from crm_project.queue import QueueUnavailable, enqueue

    from .tasks import fill_stale_kpis_task

    try:
        enqueue(fill_stale_kpis_task)
    except QueueUnavailable:
        pass  # the write is committed and its periods marked stale: the nightly job refills them


def customer_rows_follow(*, customer_ids: list[int], actor=None, reason: str = "") -> int:
    """hooks.CUSTOMERS_REASSIGNED: the by-customer rows of every period take the customers'
    new manager, so that the page's scope (on the row) follows the assignment at once.
    One UPDATE per batch of customers."""
    from customers.models import Customer

    manager = Customer.objects.filter(pk=OuterRef("customer_id")).values("manager_id")[:1]
    updated = 0
    for start in range(0, len(customer_ids), WRITE_BATCH):
        batch = customer_ids[start : start + WRITE_BATCH]
        updated += KpiCustomerRow.objects.filter(customer_id__in=batch).update(manager_id=Subquery(manager))
    return updated


def weekly_summary_send(*, today: date | None = None) -> int:
    """The Monday e-mail: each active director gets last week's KPI totals of the teams
    they direct, with a link to the table. Returns the number of e-mails sent."""
    today = today or business_today()
    start, end = periods.preset("last_week", today)
    period = selectors.period_of(start, end) or kpi_period_fill(start=start, end=end)
    link = settings.SITE_URL.rstrip("/") + reverse("reporting:kpi_managers") + f"?start={start}&end={end}"
    sent = 0
    directors = list(
        get_user_model().objects.filter(is_active=True, groups__name=DIRECTOR).exclude(email="").distinct()
    )
    totals = selectors.totals_by_director(period=period, directors=directors)
    for director in directors:
        total = totals[director.pk]
        lines = [_("KPIs from %(start)s to %(end)s") % {"start": start, "end": end}, ""]
        for kpi in kpis.KPIS:
            customers, amount = total.get(kpi, (0, 0))
            money = f"  {grouped(kpis.from_units(amount), 2)}" if kpi in kpis.CATEGORIES else ""
            lines.append(f"{periods.KPI_LABELS[kpi]}: {customers}{money}")
        lines += ["", _("The table: %(link)s") % {"link": link}]
        send_mail(
            _("Weekly KPIs, %(start)s – %(end)s") % {"start": start, "end": end},
            "\n".join(lines),
            None,
            [director.email],
        )
        sent += 1
    return sent
