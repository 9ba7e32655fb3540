"""The funnel report (domain.md sections 5 and 8): for a period [start, end] (business
dates, both included) and the deals a user may see, optionally narrowed to a manager,
a team (deals of its managers), a product line (deals with a line of it) or a sale type.

Definitions:

* A deal **reaches** a stage in the period when it enters that stage moving forward
  (a StageChange into it from an earlier stage, or its creation for Presentation)
  inside the period. A deal reaching a stage twice counts once. Backward moves are not
  "reaching". **Won** counts deals closed as won in the period.
* **Amount** of a stage: the sum of the current amounts of the deals counted there.
* **Conversion** from a stage: of the deals that reached it in the period, the share
  that also reached the next one in the period (Closing's next step is Won). A deal
  that reached a stage on the period's last day has had no time to convert: choose
  periods that are long against the stages' durations.
* **Average days** in a stage: the mean of days_in_stage over the StageChanges
  *leaving* that stage in the period (forward, back, won or lost).
* **Refusals**: deals lost in the period, by the stage they were lost at and reason.

Two SQL aggregate queries whatever the number of deals, over one row per deal of the
period (models.journeys) rather than over every stage change joined to deals and customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from customers.access import managed_scope

from .models import DealJourney, DealLine, FunnelDay, RefusalReason, Stage, StageChange

STAGES = list(Stage)
# a refusal without a reason; reporting stores it untranslated and reads it back by this
NO_REASON = gettext_noop("(no reason)")
WON_BIT = 7  # the bit of "won" in a deal's mask of steps reached


@dataclass
class StageRow:
    stage: int
    label: str
    reached: int = 0
    amount: Decimal = Decimal("0.00")
    converted: int = 0  # of `reached`, how many reached the next step in the period
    avg_days: float | None = None
    left: int = 0  # stage changes leaving the stage in the period (the avg_days basis)
    lost: int = 0
    bar: int = 0  # width of the chart's bar, % of the widest stage

    @property
    def conversion(self) -> float | None:
        return round(100 * self.converted / self.reached, 1) if self.reached else None


@dataclass
class RefusalRow:
    stage: int
    stage_label: str
    reason: str
    count: int
    amount: Decimal
    bar: int = 0


@dataclass
class Funnel:
    start: date
    end: date
    stages: list[StageRow]
    won: int
    won_amount: Decimal
    refusals: list[RefusalRow] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(row.count for row in self.refusals)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as [start of `start`, start of the day after `end`) in the business time zone."""
    begin = timezone.make_aware(datetime.combine(start, time.min))
    stop = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    return begin, stop


def _narrowing(user, *, manager, team, product_line, sale_type, owners=("manager", "customer__manager")) -> Q:
    """The user's scope and the filters, as one condition on deals or on their journeys
    (owners "manager", "customer_manager"): a join, not an IN over every visible deal."""
    condition = managed_scope(user, *owners)  # as Deal.visible_to
    if manager is not None:
        condition &= Q(manager=manager)
    if team is not None:
        condition &= Q(manager__team_membership__team=team)
    if product_line is not None:
        condition &= Q(pk__in=DealLine.objects.filter(product__line=product_line).values("deal_id"))
    if sale_type:
        condition &= Q(sale_type=sale_type)
    return condition


STEPS = [*(int(stage) for stage in STAGES), WON_BIT]
# What each deal contributes, in this order: its amount, its mask of steps reached in the
# period, and per stage the changes leaving it in the period and their days.
PER_DEAL_COLUMNS = ["amount", "reached", *(f"{name}_{stage}" for stage in STAGES for name in ("out", "out_days"))]


def _regular_deals_sql(journeys: QuerySet, begin: datetime, stop: datetime) -> tuple[str, tuple]:
    """Per regular deal (models.journeys: each step reached and each stage left at most
    once), its contribution read from its journey row's times alone."""

    def inside(column: str) -> Q:
        return Q(**{f"{column}__gte": begin, f"{column}__lt": stop})

    bits = [Case(When(inside(f"entered_{bit}"), then=Value(1 << bit)), default=Value(0)) for bit in STEPS]
    reached = bits[0]
    for bit in bits[1:]:
        reached = reached + bit
    leaving = {}
    for stage in STAGES:
        leaving[f"out_{stage}"] = Case(When(inside(f"left_{stage}"), then=Value(1)), default=Value(0))
        leaving[f"out_days_{stage}"] = Case(When(inside(f"left_{stage}"), then=F(f"days_{stage}")), default=Value(0))
    per_deal = (
        journeys.filter(regular=True)
        .order_by()
        .annotate(reached=ExpressionWrapper(reached, output_field=IntegerField()), **leaving)
        .values(*PER_DEAL_COLUMNS)
    )
    return per_deal.query.sql_with_params()


# A stage change's bit in a deal's mask of steps reached: its stage entered moving
# forward, WON_BIT for won, none for the rest.
_CHANGE_BIT = (
    "CASE WHEN to_status = 'open' AND (from_stage IS NULL OR from_stage < to_stage) THEN (1 << to_stage) "
    f"WHEN to_status = 'won' THEN {1 << WON_BIT} ELSE 0 END"
)
_CHANGE_LEAVING = ", ".join(
    f"SUM(CASE WHEN from_stage = {stage} THEN 1 ELSE 0 END) AS out_{stage}, "
    f"SUM(CASE WHEN from_stage = {stage} THEN days_in_stage ELSE 0 END) AS out_days_{stage}"
    for stage in STAGES
)


def _irregular_deals_sql(journeys: QuerySet, begin: datetime, stop: datetime) -> tuple[str, tuple]:
    """Per deal that reached a step twice or left a stage twice (a backward move), its
    contribution from its stage changes in the period. `reached` is the OR of the steps'
    bits: SUM(DISTINCT) of them. The ORM narrows the changes, the SQL around is fixed."""
    changes, params = (
        StageChange.objects.filter(
            deal_id__in=journeys.filter(regular=False).values("deal_id"), changed_at__gte=begin, changed_at__lt=stop
        )
        .order_by()
        .annotate(deal_amount=F("deal__amount"))
        .values_list("deal_id", "from_stage", "to_stage", "to_status", "days_in_stage", "deal_amount")
        .query.sql_with_params()
    )
    return (
        f"SELECT MAX(deal_amount) AS amount, SUM(DISTINCT {_CHANGE_BIT}) AS reached, {_CHANGE_LEAVING} "
        f"FROM ({changes}) AS changes GROUP BY deal_id",
        params,
    )


def _totals_sql(parts: list[tuple[str, tuple]]) -> tuple[str, tuple]:
    """The sums of the per-deal rows of `parts` (queries of PER_DEAL_COLUMNS): per step
    its deals, their amount and those that reached the next step too; per stage the
    changes leaving it and their days."""
    names = ", ".join(PER_DEAL_COLUMNS)
    union = " UNION ALL ".join(f"SELECT {names} FROM ({sql}) AS p{index}" for index, (sql, _) in enumerate(parts))
    columns = []
    for index, bit in enumerate(STEPS):
        flag = f"((reached >> {bit}) & 1)"
        following = f"((reached >> {STEPS[index + 1]}) & 1)" if index + 1 < len(STEPS) else "0"
        columns += [f"SUM({flag})", f"SUM({flag} * amount)", f"SUM({flag} * {following})"]
    columns += [f"SUM(out_{stage}), SUM(out_days_{stage})" for stage in STAGES]
    return f"SELECT {', '.join(columns)} FROM ({union}) AS per_deal", tuple(p for _, params in parts for p in params)


TOTALS_WIDTH = 3 * len(STEPS) + 2 * len(STAGES)


def _totals(row) -> dict[str, list]:
    steps, leaving = row[: 3 * len(STEPS)], row[3 * len(STEPS) :]
    return {
        "reached": [int(value or 0) for value in steps[0::3]],
        "amount": [_money(value) for value in steps[1::3]],
        "converted": [int(value or 0) for value in steps[2::3]],
        "out": [int(value or 0) for value in leaving[0::2]],
        "out_days": [int(value or 0) for value in leaving[1::2]],
    }


def _from_journeys(scope: Q, begin: datetime, stop: datetime) -> dict[str, list]:
    """The totals from the journeys of the period's deals: a row per deal (SQLite, and a
    product line's deals, which the days cannot tell apart)."""
    journeys = DealJourney.objects.filter(scope, last_at__gte=begin, first_at__lt=stop)
    sql, params = _totals_sql([_regular_deals_sql(journeys, begin, stop), _irregular_deals_sql(journeys, begin, stop)])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _totals(cursor.fetchone())


_days_zone: dict[str, str] = {}


def _days_are_current() -> bool:
    """Whether FunnelDay's days are in today's business time zone (they are in the zone
    of their migration; PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return False
    if connection.alias not in _days_zone:
        with connection.cursor() as cursor:
            cursor.execute("SELECT funnel_day_zone()")
            _days_zone[connection.alias] = cursor.fetchone()[0]
    return _days_zone[connection.alias] == settings.TIME_ZONE


def _from_days(scope: Q, start: date, end: date, begin: datetime, stop: datetime) -> dict[str, list]:
    """The totals from the regular deals' days (FunnelDay) and the irregular deals' changes.

    A regular deal reached steps k and k + 1 both in the period when it reached k in it and
    k + 1 before its end; of the pairs with k in the period, those with k + 1 after it are
    the pairs open at its end (k before the end, k + 1 not: a difference of two counts
    from the first day) less those open across the whole period (k before its start,
    k + 1 after its end), which only the few deals spanning the period can be."""
    # one statement: the days' sums, the deals spanning the period, the irregular deals;
    # the ORM narrows the rows, the sums around are fixed SQL
    day_rows, day_params = (
        FunnelDay.objects.filter(scope, day__lte=end)
        .order_by()
        .values_list("day", *_DAY_VALUES)
        .query.sql_with_params()
    )
    # the GiST index journey_span (migration 0012) finds them; only constants in the SQL
    spanning = RawSQL(  # noqa: S611
        f"tstzrange({_JOURNEY}.first_at, {_JOURNEY}.last_at, '[]') @> tstzrange(%s, %s, '[]')",
        (begin, stop),
        output_field=BooleanField(),
    )
    span_rows, span_params = (
        DealJourney.objects.filter(scope, spanning, regular=True, first_at__lt=begin, last_at__gte=stop)
        .order_by()
        .values_list(*(f"entered_{bit}" for bit in STEPS))
        .query.sql_with_params()
    )
    journeys = DealJourney.objects.filter(scope, last_at__gte=begin, first_at__lt=stop)
    irregular, irregular_params = _totals_sql([_irregular_deals_sql(journeys, begin, stop)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM (SELECT {_DAY_SUMS} FROM ({day_rows}) AS d"
            f" CROSS JOIN (SELECT %s::date AS start) AS p) AS days"
            f", (SELECT {_ACROSS_SUMS} FROM ({span_rows}) AS s"
            f" CROSS JOIN (SELECT %s::timestamptz AS begin, %s::timestamptz AS stop) AS p) AS across"
            f", ({irregular}) AS irregular",
            (*day_params, start, *span_params, begin, stop, *irregular_params),
        )
        row = cursor.fetchone()
    # PostgreSQL sums bigints as numerics: counts back to int, amounts as money
    days = {
        name: _money(value) if name.startswith("in_amount") else int(value or 0)
        for name, value in zip(_DAY_NAMES, row, strict=False)
    }
    across = row[len(_DAY_NAMES) : len(_DAY_NAMES) + len(STAGES)]
    totals = _totals(row[len(_DAY_NAMES) + len(STAGES) :])
    for index, bit in enumerate(STEPS):
        totals["reached"][index] += days[f"in_reached_{bit}"]
        totals["amount"][index] += days[f"in_amount_{bit}"]
    for index, stage in enumerate(STAGES):
        open_at_end = days[f"before_end_from_{stage}"] - days[f"before_end_to_{stage}"] - (across[index] or 0)
        totals["converted"][index] += days[f"in_pair_from_{stage}"] - open_at_end
        totals["out"][index] += days[f"in_out_{stage}"]
        totals["out_days"][index] += days[f"in_out_days_{stage}"]
    return totals


_DAY_VALUES = [
    *(f"{name}_{bit}" for name in ("reached", "amount") for bit in STEPS),
    *(f"{name}_{stage}" for name in ("pair_from", "pair_to", "out", "out_days") for stage in STAGES),
]
# (name, SQL) of the days' sums: in the period (from its first day) or up to its end
_DAY_COLUMNS = [
    *((f"in_{name}_{bit}", f"SUM(CASE WHEN d.day >= p.start THEN d.{name}_{bit} END)")
      for name in ("reached", "amount") for bit in STEPS),
    *((f"in_{name}_{stage}", f"SUM(CASE WHEN d.day >= p.start THEN d.{name}_{stage} END)")
      for name in ("pair_from", "out", "out_days") for stage in STAGES),
    *((f"before_end_{name}_{stage}", f"SUM(d.pair_{name}_{stage})") for name in ("from", "to") for stage in STAGES),
]  # fmt: skip
_DAY_NAMES = [name for name, _ in _DAY_COLUMNS]
_DAY_SUMS = ", ".join(sql for _, sql in _DAY_COLUMNS)
# per stage k, the deals that reached k before the period and k + 1 after it
_ACROSS_SUMS = ", ".join(
    f"SUM(CASE WHEN s.entered_{stage} < p.begin AND s.entered_{stage + 1} >= p.stop THEN 1 ELSE 0 END)"
    for stage in STAGES
)


_JOURNEY = f'"{DealJourney._meta.db_table}"'


def funnel_report(
    *, user, start: date, end: date, manager=None, team=None, product_line=None, sale_type: str = ""
) -> Funnel:
    """The funnel for [start, end]; see the module docstring for the definitions. On
    PostgreSQL four queries over a few rows per day and the deals that do not fit the days;
    on SQLite (and for a product line) two over one row per deal of the period."""
    filters = {"manager": manager, "team": team, "product_line": product_line, "sale_type": sale_type}
    begin, stop = _bounds(start, end)
    scope = _narrowing(user, owners=("manager", "customer_manager"), **filters)
    if product_line is None and _days_are_current():
        totals = _from_days(scope, start, end, begin, stop)
    else:
        totals = _from_journeys(scope, begin, stop)

    # refusals by stage and reason: counted per reason id from the index alone, then named
    # (two reasons of other stages may share a text: one row, as before)
    lost, lost_params = (
        DealJourney.objects.filter(scope, lost_at__gte=begin, lost_at__lt=stop)
        .order_by()
        .values_list("stage", "lost_reason_id")
        .annotate(n=Count("*"), total=Sum("amount"))
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT lost.stage, reason.text, lost.n, lost.total FROM ({lost}) AS lost "
            f"LEFT JOIN {RefusalReason._meta.db_table} AS reason ON reason.id = lost.lost_reason_id",
            lost_params,
        )
        lost = cursor.fetchall()
    by_reason: dict[tuple[int, str], list] = {}
    for stage, text, n, total in lost:
        counted = by_reason.setdefault((stage, text or ""), [0, Decimal(0)])
        counted[0] += n
        counted[1] += _money(total)
    no_reason = gettext(NO_REASON)
    refusals = [
        RefusalRow(stage=stage, stage_label=Stage(stage).label, reason=text or no_reason, count=n, amount=total)
        for (stage, text), (n, total) in sorted(
            by_reason.items(), key=lambda item: (item[0][0], -item[1][0], item[0][1] == "", item[0][1])
        )
    ]

    rows = []
    for index, stage in enumerate(STAGES):
        left, days = totals["out"][index], totals["out_days"][index]
        rows.append(
            StageRow(
                stage=stage.value,
                label=stage.label,
                reached=totals["reached"][index],
                amount=totals["amount"][index],
                converted=totals["converted"][index],
                avg_days=round(days / left, 1) if left else None,
                left=left,
                lost=sum(r.count for r in refusals if r.stage == stage.value),
            )
        )
    widest = max([row.reached for row in rows] + [1])
    for row in rows:
        row.bar = round(100 * row.reached / widest)
    most = max([row.count for row in refusals] + [1])
    for refusal in refusals:
        refusal.bar = round(100 * refusal.count / most)
    return Funnel(
        start=start,
        end=end,
        stages=rows,
        won=totals["reached"][-1],
        won_amount=totals["amount"][-1],
        refusals=refusals,
    )


def _money(value) -> Decimal:
    # SQLite sums decimals as floats; PostgreSQL returns exact numerics.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def funnel_export_rows(report) -> tuple[list, list]:
    """The report as one sheet: the stages, the won total, then the refusals. The headings
    are the export's fixed interface, in English; the stages' labels in the reader's language."""
    header = ["Stage", "Reached", "Amount", "Converted to next", "Conversion %", "Average days", "Lost"]
    rows = [
        [str(row.label), row.reached, row.amount, row.converted, row.conversion, row.avg_days, row.lost]
        for row in report.stages
    ]
    rows.append(["Won", report.won, report.won_amount, None, None, None, None])
    rows.append([])
    rows.append(["Refusals: stage", "Reason", "Deals", "Amount"])
    rows += [[str(r.stage_label), r.reason, r.count, r.amount] for r in report.refusals]
    return header, rows
