"""The loyalty measures at several period ends from one grouped pass (selectors.measures_on,
issue 15) against the computation they replaced, a pass per date and per figure, kept here
as the reference, on hand-built ledgers: returns, referrals, customers of other managers,
buyers before, inside and between windows, end-of-month dates."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, IntegerField, Max, Sum, When

from crm_project.dates import months_before
from loyalty.selectors import Measures, measures_by_period, measures_on
from sales_pipeline.selectors import MONEY_UNIT, day_sums, first_days
from segmentation import selectors as segments
from segmentation.models import ClassificationSettings, CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory, SettlementLineFactory


def reference_measures(*, user, as_of: date) -> Measures:
    """The measures as loyalty.selectors computed them before issue 15 (one date)."""
    from customers.models import Customer

    params = ClassificationSettings.current()
    period, window = params.period_months, params.window_months
    ends = [months_before(as_of, j * period) for j in range(5)]
    visible = Customer.objects.visible_to(user).values("pk")
    days = day_sums(start=ends[4] + timedelta(days=1), end=as_of).filter(customer_id__in=visible, positive_lines__gt=0)
    flags = {
        f"p{j}": Max(
            Case(When(date__gt=ends[j + 1], date__lte=ends[j], then=1), default=0, output_field=IntegerField())
        )
        for j in range(4)
    }
    buyers = loyal = 0
    for row in days.values("customer_id").annotate(**flags).order_by():
        buyers += 1
        loyal += sum(row[f"p{j}"] for j in range(4)) >= 2
    window_start = months_before(as_of, window)
    in_window = day_sums(start=window_start + timedelta(days=1), end=as_of).filter(customer_id__in=visible)
    revenue_rows = dict(
        in_window.values("customer_id").annotate(v=Sum("amount")).order_by().values_list("customer_id", "v")
    )
    before = set(
        first_days(up_to=as_of).filter(customer_id__in=visible, date__lte=window_start).values_list(
            "customer_id", flat=True
        )
    )
    revenue = sum(revenue_rows.values(), 0)
    existing = sum((v for c, v in revenue_rows.items() if c in before), 0)
    referral = in_window.filter(customer__referred_by__isnull=False).aggregate(v=Sum("amount"))["v"] or 0
    snapshot_date = segments.computed_date_on_or_before(as_of)
    regular = (
        segments.classes_as_of(snapshot_date).filter(status="regular", customer_id__in=visible).count()
        if snapshot_date
        else 0
    )
    return Measures(
        as_of=as_of,
        loyalty_index=Decimal(loyal) / Decimal(buyers) if buyers else None,
        buyers=buyers,
        loyal_buyers=loyal,
        revenue=Decimal(revenue) / MONEY_UNIT,
        existing_revenue=Decimal(existing) / MONEY_UNIT,
        referral_revenue=Decimal(referral) / MONEY_UNIT,
        regular_customers=regular,
    )


def _ledger(managers, seed: int) -> None:
    rng = random.Random(seed)
    customers = []
    for n in range(14):
        referred_by = customers[rng.randrange(len(customers))] if customers and rng.random() < 0.3 else None
        customers.append(CustomerFactory(manager=managers[n % len(managers)], referred_by=referred_by))
    start = date(2024, 1, 1)
    for customer in customers[:-2]:  # the last two never buy
        for _ in range(rng.randint(1, 12)):
            amount = Decimal(rng.randint(-200, 900)) + Decimal(rng.choice(["0", "0.25", "0.125"]))
            SettlementLineFactory(customer=customer, date=start + timedelta(days=rng.randrange(900)), amount=amount)
    RecomputeRun.objects.create(as_of=date(2025, 12, 31), status=RecomputeRun.Status.DONE)
    for customer in customers:
        CustomerSnapshot.objects.create(
            as_of=date(2025, 12, 31), customer=customer, status=rng.choice(["regular", "new", "lost"]), abc="B"
        )


def test_the_one_pass_equals_the_reference_at_every_period_end(mgr_a, mgr_c, dir_1, admin_user):
    ClassificationSettings.objects.update_or_create(pk=1, defaults={"period_months": 3, "window_months": 12})
    _ledger([mgr_a, mgr_c], seed=15)
    ends = [date(2026, 5, 31), date(2026, 3, 31), date(2025, 11, 30), date(2025, 8, 31), date(2024, 2, 29)]
    for user in (mgr_a, mgr_c, dir_1, admin_user):
        got = measures_on(user=user, dates=ends)
        assert got == [reference_measures(user=user, as_of=d) for d in ends]
    assert any(m.existing_revenue and m.referral_revenue and m.loyal_buyers for m in got)  # the data tells them apart
    by_period = measures_by_period(user=admin_user, as_of=date(2026, 5, 31))
    assert [m.as_of for m in by_period] == [date(2025, 8, 31), date(2025, 11, 30), date(2026, 2, 28), date(2026, 5, 31)]
    assert by_period == [reference_measures(user=admin_user, as_of=m.as_of) for m in by_period]


def test_a_user_who_sees_no_customer_gets_empty_measures(mgr_b):
    [m] = measures_on(user=mgr_b, dates=[date(2026, 5, 31)])
    assert (m.buyers, m.loyalty_index, m.revenue, m.existing_revenue, m.referral_revenue) == (0, None, 0, 0, 0)
