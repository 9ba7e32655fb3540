"""Read side of loyalty: the measures of domain.md section 6, points liability and expiry,
what the customer card and the point of sale show. A constant number of queries each."""

import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.postgres.aggregates import BitOr
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from crm_project.dates import months_before
from crm_project.prepared import Prepared, aggregate_row
from customers.access import counted_scope, scope_key, sees_everything
from customers.models import Customer
from sales_pipeline.selectors import MONEY_UNIT, day_sums
from segmentation import selectors as segments
from segmentation.models import ClassificationSettings

from . import discounts
from .models import CampaignMember, CampaignStep, Card, CardTotal, MeasureCount, MeasureFill, PointsEntry, Program, Tier

ZERO = Decimal(0)
PAGE_PERIODS = 4  # the measures page's dates: today and the three period ends before


@dataclass
class Measures:
    as_of: date
    loyalty_index: Decimal | None  # share 0..1, None without buyers
    buyers: int
    loyal_buyers: int
    revenue: Decimal
    existing_revenue: Decimal
    referral_revenue: Decimal
    regular_customers: int

    @property
    def existing_share(self) -> Decimal | None:
        return self.existing_revenue / self.revenue if self.revenue else None


def _visible(user):
    return Customer.objects.visible_to(user).values("pk")


def _or_of_bits(expression):
    """The bitwise OR of `expression` (a power of two or NULL) over a group: PostgreSQL's
    BIT_OR; elsewhere the sum of its distinct values, the same number."""
    if connection.vendor == "postgresql":
        return BitOr(expression)
    return Sum(expression, distinct=True)


def measures(*, user, as_of: date, params: ClassificationSettings | None = None) -> Measures:
    """Loyalty index over the last four lifecycle periods, the share of the window's revenue
    from customers who bought before the window, referral revenue and regular customers,
    for the customers `user` sees. `params`: the classification settings, when the caller
    has already read them."""
    return measures_on(user=user, dates=[as_of], params=params)[0]


def measures_on(*, user, dates: list[date], params: ClassificationSettings | None = None) -> list[Measures]:
    """measures() at each of `dates`, in that order. A date stored fresh with the current
    settings (MeasureFill, loyalty.measure_store) is the sum of the stored rows of the
    managers `user` sees plus, for a manager, the customers handed over to them computed
    live (customers.access.counted_scope: together exactly customer_scope); the other dates
    are computed live from one grouped pass over the visible customers' day rows (figure_sums)."""
    params = params or ClassificationSettings.current()
    visible = _visible(user)
    totals: dict[date, list[int]] = {as_of: [0] * len(FIGURES) for as_of in dates}
    fills = stored_fills(dates=dates, params=params)
    if fills:
        counted, covered = counted_scope(user, manager="manager_id")
        dates_of = {fill_id: as_of for as_of, fill_id in fills.items()}
        stored = (
            MeasureCount.objects.filter(counted, fill_id__in=dates_of)
            .values_list("fill_id")
            .annotate(*(Sum(column) for column in STORED_COLUMNS))
            .order_by()
        )
        for fill_id, *sums in stored:
            _add(totals[dates_of[fill_id]], sums)
        # handed over by another manager: not in the user's rows. Read first, as most managers
        # cover no one and the grouped query costs some milliseconds of compiling.
        covered_ids = sorted({row["customer_id"] for row in covered}) if covered is not None else []
        if covered_ids:
            by_date = figure_sums(customers=covered_ids, dates=list(fills), params=params).get(None, {})
            for as_of, sums in by_date.items():
                _add(totals[as_of], sums)
    live = [as_of for as_of in dict.fromkeys(dates) if as_of not in fills]
    if live:
        for as_of, sums in figure_sums(customers=visible, dates=live, params=params).get(None, {}).items():
            _add(totals[as_of], sums)
    # Regular customers at the newest class date on or before each date, counted from the
    # trigger-kept per-manager counts where that date has a full snapshot (segmentation's
    # lifecycle_counts, scoped as customer_scope), where counting the visible customers'
    # snapshot rows grew with the base.
    class_dates = {as_of: segments.computed_date_on_or_before(as_of) for as_of in dict.fromkeys(dates)}
    wanted = sorted({class_date for class_date in class_dates.values() if class_date})
    statuses = segments.lifecycle_counts(user=user, dates=wanted) if wanted else {}
    result = []
    for as_of in dates:
        buyers, loyal, revenue, existing, referral = totals[as_of]
        result.append(
            Measures(
                as_of=as_of,
                loyalty_index=Decimal(loyal) / Decimal(buyers) if buyers else None,
                buyers=buyers,
                loyal_buyers=loyal,
                revenue=Decimal(revenue) / MONEY_UNIT,
                existing_revenue=Decimal(existing) / MONEY_UNIT,
                referral_revenue=Decimal(referral) / MONEY_UNIT,
                regular_customers=statuses.get((class_dates[as_of], "regular"), 0),
            )
        )
    return result


# What measures_on sums per date, and the stored row's columns holding them (MeasureCount).
FIGURES = ("buyers", "loyal_buyers", "revenue", "existing", "referral")
STORED_COLUMNS = ("buyers", "loyal_buyers", "revenue_units", "existing_units", "referral_units")


def _add(into: list[int], sums) -> None:
    for i, value in enumerate(sums):
        into[i] += int(value or 0)


def stored_fills(*, dates: list[date], params: ClassificationSettings) -> dict[date, int]:
    """The ids of the fresh fills of `dates` counted with `params`' period and window."""
    fills = MeasureFill.objects.filter(
        as_of__in=dates,
        stale_since__isnull=True,
        period_months=params.period_months,
        window_months=params.window_months,
    )
    return dict(fills.values_list("as_of", "pk"))


def figure_sums(*, customers, dates: list[date], params: ClassificationSettings, by_manager: bool = False) -> dict:
    """The measures' sums over `customers` (a queryset of customer ids; None: every
    customer) at each of `dates`: {key: {date: (buyers, loyal buyers, revenue, existing
    revenue, referral revenue)}}, money in 1/10,000, key None, or with `by_manager` the
    customer's manager id (0 for the pool), the rows measure_store keeps. One grouped pass
    over the day table (per customer, then summed in the same query): a pass per date and
    per figure cost about forty queries."""
    period, window = params.period_months, params.window_months
    # The four periods (ends[j + 1], ends[j]] before each date, ends[j] = D - jP. Each
    # customer's purchase days are read as one number: a bit for each stretch between two
    # consecutive period ends of any date, ORed over the customer's days with a purchase;
    # a period bought in is then a test of its stretches' bits. Sixteen MAX(CASE) on every
    # day row were most of the query's CPU (issue 15).
    periods_of = []
    for as_of in dates:
        ends = [months_before(as_of, j * period) for j in range(5)]
        periods_of.append([(ends[j + 1], ends[j]) for j in range(4)])
    bounds = sorted({day for periods in periods_of for period_ in periods for day in period_})
    if len(bounds) > 64:  # five ends a date: a dozen dates fit
        raise ValueError("too many dates for one pass: their stretches' bits must fit a bigint")
    # stretch i is (bounds[i], bounds[i + 1]]: a day's is the first bound it is after,
    # tried from the newest (one comparison a bound, no bit after the last)
    stretch = [When(date__gt=bounds[-1], then=None)]
    stretch += [When(date__gt=bounds[i], then=Value(1 << i)) for i in reversed(range(len(bounds) - 1))]
    stretch_bit = Case(
        When(positive_lines__gt=0, then=Case(*stretch, default=None, output_field=BigIntegerField())),
        default=None,
        output_field=BigIntegerField(),
    )
    flags: dict = {"bought": _or_of_bits(stretch_bit)}

    def bought_in(start: date, end: date) -> str:
        mask = sum(1 << i for i, (low, high) in enumerate(itertools.pairwise(bounds)) if start <= low and high <= end)
        return f"CASE WHEN (bought & {mask}) <> 0 THEN 1 ELSE 0 END"

    figures: list[tuple[str, list]] = []
    for k, as_of in enumerate(dates):
        # in how many of its four periods the customer bought
        bought = " + ".join(bought_in(start, end) for start, end in periods_of[k])
        window_start = months_before(as_of, window)
        flags[f"revenue{k}"] = Sum("amount", filter=Q(date__gt=window_start, date__lte=as_of))
        revenue = f"revenue{k}"
        # Summed over the customers; "existing": those whose first day (of any line up to D)
        # is on or before the window's start, i.e. who bought before the window.
        figures += [
            (f"SUM(CASE WHEN {bought} >= 1 THEN 1 ELSE 0 END)", []),
            (f"SUM(CASE WHEN {bought} >= 2 THEN 1 ELSE 0 END)", []),
            (f"SUM({revenue})", []),
            (
                f"SUM(CASE WHEN first_date <= %s THEN {revenue} END)",
                [connection.ops.adapt_datefield_value(window_start)],
            ),
            (f"SUM(CASE WHEN referred = 1 THEN {revenue} END)", []),
        ]
    days = day_sums(end=max(dates))
    if customers is not None:
        days = days.filter(customer_id__in=customers)
    per_customer = days.values("customer_id").annotate(first_date=Min("date"), **flags).order_by()
    sums = ", ".join(sql for sql, _p in figures)
    sums_params = [p for _s, params_ in figures for p in params_]
    try:
        inner, inner_params = per_customer.query.sql_with_params()
    except EmptyResultSet:  # no customer
        return {}
    if by_manager:
        # Every customer's manager and referrer, joined once per customer after the grouping.
        sql = (
            f"SELECT manager, {sums} FROM ("
            f"SELECT g.*, COALESCE(c.manager_id, 0) AS manager, "
            f"CASE WHEN c.referred_by_id IS NOT NULL THEN 1 ELSE 0 END AS referred "
            f"FROM ({inner}) AS g JOIN {Customer._meta.db_table} AS c ON c.id = g.customer_id) AS per_customer "
            f"GROUP BY manager"
        )
        query_params = [*sums_params, *inner_params]
    else:
        # Whether a customer was referred, read once per customer after the grouping: joined
        # to every day row, the customers cost a quarter of the query.
        referred = Customer.objects.filter(referred_by__isnull=False).order_by().values("pk")
        referred_sql, referred_params = referred.query.sql_with_params()
        sql = (
            f"SELECT NULL, {sums} FROM ("
            f"SELECT g.*, CASE WHEN g.customer_id IN ({referred_sql}) THEN 1 ELSE 0 END AS referred "
            f"FROM ({inner}) AS g) AS per_customer"
        )
        query_params = [*sums_params, *referred_params, *inner_params]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Some 20 sums per customer: the default 4MB spilled the grouping to disk
            # at 40,000 customers (as sales_pipeline.selectors.customer_sums).
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, query_params)
        rows = cursor.fetchall()
    n = len(FIGURES)
    result: dict = {}
    for key, *values in rows:
        result[key] = {
            as_of: tuple(int(value or 0) for value in values[k * n : (k + 1) * n]) for k, as_of in enumerate(dates)
        }
    return result


@dataclass
class IndexFigures:
    """The dashboard widget's part of the measures: the loyalty index and regular customers."""

    loyalty_index: Decimal | None
    buyers: int
    loyal_buyers: int
    regular_customers: int

    @classmethod
    def of(cls, sums: dict) -> "IndexFigures":
        """From index_by_manager's rows summed over managers: {key: (n, amount)}."""
        buyers, loyal, regular = (sums.get(key, (0, 0))[0] for key in ("buyers", "loyal_buyers", "regular"))
        return cls(Decimal(loyal) / Decimal(buyers) if buyers else None, buyers, loyal, regular)


def index_by_manager(*, as_of: date) -> list[tuple]:
    """measures()' buyers, loyal buyers and regular customers per customer's manager, for
    every customer: (manager_id or None, key, n, 0) rows that reporting stores when it
    fills a period (hooks.DASHBOARD_FACTS), so the dashboard widget sums a few of them.
    Three queries."""
    params = ClassificationSettings.current()
    ends = [months_before(as_of, j * params.period_months) for j in range(5)]
    days = day_sums(start=ends[4] + timedelta(days=1), end=as_of).filter(positive_lines__gt=0)
    flags = {
        f"p{j}": Max(
            Case(When(date__gt=ends[j + 1], date__lte=ends[j], then=1), default=0, output_field=IntegerField())
        )
        for j in range(4)
    }
    counts: dict = {}
    for row in days.values("customer_id", "customer__manager_id").annotate(**flags).order_by():
        manager = counts.setdefault(row["customer__manager_id"], {"buyers": 0, "loyal_buyers": 0, "regular": 0})
        manager["buyers"] += 1
        manager["loyal_buyers"] += sum(row[f"p{j}"] for j in range(4)) >= 2
    snapshot_date = segments.computed_date_on_or_before(as_of)
    if snapshot_date:
        regular = (
            segments.classes_as_of(snapshot_date)
            .filter(status="regular")
            .values_list("customer__manager_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for manager_id, n in regular:
            counts.setdefault(manager_id, {"buyers": 0, "loyal_buyers": 0, "regular": 0})["regular"] = n
    return [(manager_id, key, n, 0) for manager_id, keys in counts.items() for key, n in keys.items()]


def measures_by_period(*, user, as_of: date, periods: int = PAGE_PERIODS) -> list[Measures]:
    """The measures at the last `periods` period ends, oldest first (for the table and chart)."""
    params = ClassificationSettings.current()
    return measures_on(user=user, dates=period_ends(as_of, params, periods), params=params)


def period_ends(as_of: date, params: ClassificationSettings, periods: int = PAGE_PERIODS) -> list[date]:
    """`as_of` and the `periods` - 1 period ends before it, oldest first."""
    return [months_before(as_of, j * params.period_months) for j in reversed(range(periods))]


def campaigns_with_counts(campaigns, *, user):
    """The campaign list's rows with their number of steps and of members, members counted
    among the customers `user` may see; subqueries, so one query for the page."""
    steps = CampaignStep.objects.filter(campaign=OuterRef("pk")).values("campaign").annotate(n=Count("pk")).values("n")
    members = CampaignMember.objects.filter(campaign=OuterRef("pk"))
    if not sees_everything(user):
        members = members.filter(customer_id__in=_visible(user))
    members = members.values("campaign").annotate(n=Count("pk")).values("n")
    return campaigns.annotate(
        step_count=Coalesce(Subquery(steps, output_field=IntegerField()), 0),
        member_count=Coalesce(Subquery(members, output_field=IntegerField()), 0),
    )


def visible_cards(user):
    return Card.objects.visible_to(user)


def _card_totals(user):
    """(CardTotal rows `user` counts: a filter on them, live cards of the holders handed
    over to `user` (customers.access.counted_scope) or None). Together they are exactly
    visible_cards: a bearer card's row (-1) only for those who see everything."""
    scope, covered = counted_scope(user, manager="holder_manager")
    return scope, None if covered is None else Card.objects.filter(holder_id__in=covered)


def tier_distribution(*, user) -> list[dict]:
    """Active cards of tiered programs per program and tier: {program, tier, rank, cards}.
    From CardTotal (kept by triggers, migration 0007), a few rows, instead of every card
    joined with its holder (issue 15). One query."""
    scope, handed_over = _card_totals(user)
    # Every program and tier with an active card of anyone's, counted within the scope:
    # a handed-over holder's cards sit under its manager's rows, so their key is among these.
    cards = Coalesce(Sum("cards", filter=scope), 0)
    if handed_over is not None:
        live = (
            handed_over.filter(status=Card.Status.ACTIVE, program=OuterRef("program"))
            .annotate(tier_key=Coalesce("tier_id", 0))
            .filter(tier_key=OuterRef("tier"))
            .values("program")
            .annotate(n=Count("pk"))
            .values("n")
        )
        cards = cards + Coalesce(Subquery(live, output_field=IntegerField()), 0)
    tier = Tier.objects.filter(pk=OuterRef("tier")).order_by()
    rows = (
        CardTotal.objects.filter(status=Card.Status.ACTIVE, program__kind=Program.Kind.TIERED)
        .values("program", "tier")
        .annotate(
            cards=cards,
            program_name=F("program__name"),
            tier_name=Subquery(tier.values("name")),
            rank=Subquery(tier.values("rank")),
        )
        .order_by("program_name", "rank")
    )
    return [
        {"program_name": row["program_name"], "tier_name": row["tier_name"], "rank": row["rank"], "cards": row["cards"]}
        for row in rows
        if row["cards"]
    ]


@dataclass
class Liability:
    points: int
    value: Decimal
    expiring: list[tuple[int, int, Decimal]]  # (days, points, value)


_MONEY = DecimalField(max_digits=20, decimal_places=4)


def _outstanding(user, key):
    scope, handed_over = _card_totals(user)
    value = ExpressionWrapper(F("points") * F("program__point_value"), output_field=_MONEY)
    points, amount = Coalesce(Sum("points"), 0), Coalesce(Sum(value), ZERO, output_field=_MONEY)
    if handed_over is not None:
        # one sum over the handed-over holders' cards, as a scalar subquery of the same query
        live = handed_over.filter(program__kind=Program.Kind.POINTS).order_by()
        live_points = live.values(n=Func("balance", function="SUM"))
        live_value = live.values(v=Func(F("balance") * F("program__point_value"), function="SUM", output_field=_MONEY))
        points = points + Coalesce(Subquery(live_points, output_field=BigIntegerField()), 0)
        amount = amount + Coalesce(Subquery(live_value, output_field=_MONEY), ZERO, output_field=_MONEY)
    return aggregate_row(
        CardTotal.objects.filter(scope, program__kind=Program.Kind.POINTS), outstanding=points, outstanding_value=amount
    )


EXPIRY_WINDOWS = (30, 60, 90)  # days


def _expiring(user, key, *, today, **window_ends):
    lots = PointsEntry.objects.filter(card__in=visible_cards(user).values("pk"), remaining__gt=0, expires_on__gt=today)
    lot_value = ExpressionWrapper(F("remaining") * F("card__program__point_value"), output_field=_MONEY)
    windows = {}
    for days in EXPIRY_WINDOWS:
        within = Q(expires_on__lte=window_ends[f"in{days}"])
        windows[f"p{days}"] = Coalesce(Sum("remaining", filter=within), 0)
        windows[f"v{days}"] = Coalesce(Sum(lot_value, filter=within), ZERO, output_field=DecimalField())
    return aggregate_row(lots, **windows)


# Compiled once per user (their scope: customers.access.scope_key) and run with the day's
# dates (crm_project.prepared): built through the ORM they cost 6-7 ms of Python on every
# dashboard and loyalty measures page.
_OUTSTANDING = Prepared(_outstanding)
_EXPIRING = Prepared(_expiring, today=DateField(), **{f"in{days}": DateField() for days in EXPIRY_WINDOWS})


def liability(*, user, today: date) -> Liability:
    """Outstanding points x the point's value, and what of it expires within 30/60/90 days
    (lots not yet expired, remaining points). The outstanding points from CardTotal (kept
    by triggers, migration 0007), multiplied by the program's value over its few rows."""
    shape = (user, scope_key(user))
    # the defaults when the user may see no card at all (the scope compiles to nothing)
    totals = _OUTSTANDING.row(*shape, default={"outstanding": 0, "outstanding_value": ZERO})
    window_ends = {f"in{days}": today + timedelta(days=days) for days in EXPIRY_WINDOWS}
    nothing = {f"{kind}{days}": 0 for kind in "pv" for days in EXPIRY_WINDOWS}
    expiring = _EXPIRING.row(*shape, today=today, **window_ends, default=nothing)
    return Liability(
        points=totals["outstanding"],
        value=Decimal(totals["outstanding_value"]).quantize(Decimal("0.01")),
        expiring=[
            (d, expiring[f"p{d}"], Decimal(expiring[f"v{d}"]).quantize(Decimal("0.01"))) for d in EXPIRY_WINDOWS
        ],
    )


#
# One card: the rules it offers, its ledger
#


def card_rules(card: Card) -> list[discounts.Rule]:
    """Every discount the card's program offers (two queries at most: brackets)."""
    program = card.program
    kind = Program.Kind
    if program.kind in (kind.BEARER, kind.PERSONAL, kind.VIP) and program.discount_percent > 0:
        return [discounts.Rule(f"{program.name}: {program.discount_percent}%", program.discount_percent)]
    if program.kind == kind.TIERED and card.tier_id:
        return [
            discounts.Rule(
                f"{program.name}, {card.tier.name}: {card.tier.discount_percent}%", card.tier.discount_percent
            )
        ]
    if program.kind == kind.SCALE:
        brackets = [(b.min_amount, b.discount_percent) for b in program.brackets.all()]
        return discounts.scale_rules(brackets, program.name)
    return []


def best_for(*, cards: list[Card], amount: Decimal) -> discounts.Choice:
    """The best discount any of the holder's active cards gives on `amount`."""
    rules = [rule for card in cards if card.status == Card.Status.ACTIVE for rule in card_rules(card)]
    return discounts.best_discount(amount, rules)


def points_value(card: Card) -> Decimal:
    return (card.balance * card.program.point_value).quantize(Decimal("0.01"))
