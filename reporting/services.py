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
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.dates import business_today
from customers.access import DIRECTOR
from segmentation.models import RecomputeRun
from segmentation.services import segments_recompute

from . import kpis, periods, selectors
from .models import KpiCustomerRow, KpiFact, KpiPeriod

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


def kpi_period_fill(*, start: date, end: date) -> KpiPeriod:
    """Compute the KPIs of [start, end] and store their rows (replacing the period's)."""
    if start > end:
        raise ValueError("The period starts after it ends.")
    started = time.monotonic()
    snap_start = start - timedelta(days=1)
    snapshot_ensure(as_of=snap_start)
    snapshot_ensure(as_of=end)
    facts, by_customer = kpis.compute(
        lines=selectors.period_lines(start, end),
        first_days=selectors.first_days(end),
        first_line_days=selectors.first_line_days(end),
        customers=selectors.customers_frame(),
        snap_start=selectors.snapshot_frame(snap_start),
        snap_end=selectors.snapshot_frame(end),
        start=start,
        end=end,
    )
    monthly = kpis.monthly_series(selectors.day_rows(end), end)
    products = selectors.products_by_customer()
    with transaction.atomic():
        period, _created = KpiPeriod.objects.select_for_update().get_or_create(start=start, end=end)
        KpiFact.objects.filter(period=period).delete()
        KpiCustomerRow.objects.filter(period=period).delete()
        KpiFact.objects.bulk_create(
            (
                KpiFact(
                    period=period,
                    customer_id=int(row.customer_id),
                    manager_id=int(row.manager_id) or None,
                    kpi=row.kpi,
                    amount=int(row.amount),
                )
                for row in facts.itertuples(index=False)
            ),
            batch_size=WRITE_BATCH,
        )
        KpiCustomerRow.objects.bulk_create(
            (
                KpiCustomerRow(
                    period=period,
                    customer_id=int(row.customer_id),
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
                    **products.get(int(row.customer_id), {}),
                )
                for row in by_customer.itertuples(index=False)
            ),
            batch_size=WRITE_BATCH,
        )
        period.computed_at = timezone.now()
        period.customers = len(by_customer)
        period.seconds = time.monotonic() - started
        period.save()
    logger.info("KPIs of %s..%s: %d facts, %d customers in %.1f s", start, end, len(facts), len(by_customer),
                period.seconds)  # fmt: skip
    return period


def kpi_presets_fill(*, today: date | None = None) -> list[KpiPeriod]:
    """The nightly fill: every preset period as of today (and the ones before them, for
    the dashboard's deltas), so that the pages open on rows already there."""
    today = today or business_today()
    filled = []
    for key in periods.PRESETS:
        period = periods.preset(key, today)
        for start, end in (period, periods.previous(*period)):
            filled.append(kpi_period_fill(start=start, end=end))
    return filled


def weekly_summary_send(*, today: date | None = None) -> int:
    """The Monday e-mail: each active director gets last week's KPI totals of the teams
    they direct, with a link to the table. Returns the number of e-mails sent."""
    today = today or business_today()
    start, end = periods.preset("last_week", today)
    period = selectors.period_of(start, end) or kpi_period_fill(start=start, end=end)
    link = settings.SITE_URL.rstrip("/") + reverse("reporting:kpi_managers") + f"?start={start}&end={end}"
    sent = 0
    directors = get_user_model().objects.filter(is_active=True, groups__name=DIRECTOR).exclude(email="").distinct()
    for director in directors:
        total = selectors.total_row(user=director, period=period)
        lines = [_("KPIs from %(start)s to %(end)s") % {"start": start, "end": end}, ""]
        for kpi in kpis.KPIS:
            customers, amount = total.get(kpi, (0, 0))
            money = f"  {kpis.from_units(amount):,.2f}" if kpi in kpis.CATEGORIES else ""
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
