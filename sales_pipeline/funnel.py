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

Three SQL aggregate queries whatever the number of deals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Case, Count, F, Func, IntegerField, Max, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from customers.access import managed_scope

from .models import Deal, DealLine, Stage, StageChange

STAGES = list(Stage)
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


def _narrowing(user, *, manager, team, product_line, sale_type, prefix: str = "") -> Q:
    """The user's scope and the filters, as one condition on deals (prefix "") or on
    anything with a `deal` (prefix "deal__"): a join, not an IN over every visible deal."""
    condition = managed_scope(user, f"{prefix}manager", f"{prefix}customer__manager")  # as Deal.visible_to
    if manager is not None:
        condition &= Q(**{f"{prefix}manager": manager})
    if team is not None:
        condition &= Q(**{f"{prefix}manager__team_membership__team": team})
    if product_line is not None:
        with_line = DealLine.objects.filter(product__line=product_line).values("deal_id")
        condition &= Q(**{f"{prefix}pk__in": with_line})
    if sale_type:
        condition &= Q(**{f"{prefix}sale_type": sale_type})
    return condition


class _StageBit(Func):
    """2 ** stage as an integer (bit `stage` set), on PostgreSQL and SQLite alike."""

    template = "(1 << %(expressions)s)"
    output_field = IntegerField()


def _per_deal_sql(changes: QuerySet) -> tuple[str, tuple]:
    """One row per deal with a stage change in the period: its amount and `reached`, a
    bit mask of the stages it reached moving forward (bit 1..6) and of won (bit 7).
    SUM(DISTINCT) of the bits is their OR; two aggregates per deal keep the pass cheap."""
    forward = Q(to_status=Deal.Status.OPEN) & (Q(from_stage__isnull=True) | Q(from_stage__lt=F("to_stage")))
    bit = Case(
        When(forward, then=_StageBit(F("to_stage"))),
        When(to_status=Deal.Status.WON, then=Value(1 << WON_BIT)),
        default=Value(0),
        output_field=IntegerField(),
    )
    per_deal = (
        changes.order_by().values("deal_id").annotate(amount=Max("deal__amount"), reached=Sum(bit, distinct=True))
    )
    return per_deal.query.sql_with_params()


def funnel_report(
    *, user, start: date, end: date, manager=None, team=None, product_line=None, sale_type: str = ""
) -> Funnel:
    """The funnel for [start, end]; see the module docstring for the definitions. Three
    queries: the deals' stages reached, the days per stage, the refusals."""
    filters = {"manager": manager, "team": team, "product_line": product_line, "sale_type": sale_type}
    begin, stop = _bounds(start, end)
    changes = StageChange.objects.filter(
        _narrowing(user, prefix="deal__", **filters), changed_at__gte=begin, changed_at__lt=stop
    )

    # 1. reached / amount / converted per stage, and won, from each deal's mask of stages reached
    inner, params = _per_deal_sql(changes)
    steps = [*(int(stage) for stage in STAGES), WON_BIT]
    columns = []
    for index, bit in enumerate(steps):
        flag = f"((reached >> {bit}) & 1)"
        columns += [f"SUM({flag})", f"SUM({flag} * amount)"]
        if index + 1 < len(steps):
            columns.append(f"SUM({flag} * ((reached >> {steps[index + 1]}) & 1))")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} FROM ({inner}) AS per_deal", params)
        totals = list(cursor.fetchone())

    # 2. days per stage, from the changes leaving each stage
    leaving = {
        row["from_stage"]: row
        for row in changes.filter(from_stage__isnull=False)
        .order_by()
        .values("from_stage")
        .annotate(days=Sum("days_in_stage"), n=Count("pk"))
    }

    # 2. refusals by stage and reason
    refusals = [
        RefusalRow(
            stage=row["stage"],
            stage_label=Stage(row["stage"]).label,
            reason=row["lost_reason__text"] or "(no reason)",
            count=row["n"],
            amount=_money(row["total"]),
        )
        for row in Deal.objects.filter(
            _narrowing(user, **filters), status=Deal.Status.LOST, closed_at__gte=begin, closed_at__lt=stop
        )
        .order_by()
        .values("stage", "lost_reason__text")
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by("stage", "-n", "lost_reason__text")
    ]

    rows = []
    for position, stage in zip(range(0, 3 * len(STAGES), 3), STAGES, strict=True):
        reached, amount, converted = totals[position : position + 3]
        left = leaving.get(stage.value)
        rows.append(
            StageRow(
                stage=stage.value,
                label=stage.label,
                reached=int(reached or 0),
                amount=_money(amount),
                converted=int(converted or 0),
                avg_days=round(left["days"] / left["n"], 1) if left else None,
                left=left["n"] if left else 0,
                lost=sum(r.count for r in refusals if r.stage == stage.value),
            )
        )
    won, won_amount = totals[-2:]
    widest = max([row.reached for row in rows] + [1])
    for row in rows:
        row.bar = round(100 * row.reached / widest)
    most = max([row.count for row in refusals] + [1])
    for refusal in refusals:
        refusal.bar = round(100 * refusal.count / most)
    return Funnel(
        start=start, end=end, stages=rows, won=int(won or 0), won_amount=_money(won_amount), refusals=refusals
    )


def _money(value) -> Decimal:
    # SQLite sums decimals as floats; PostgreSQL returns exact numerics.
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def funnel_export_rows(report) -> tuple[list, list]:
    """The report as one sheet: the stages, the won total, then the refusals."""
    header = ["Stage", "Reached", "Amount", "Converted to next", "Conversion %", "Average days", "Lost"]
    rows = [
        [row.label, row.reached, row.amount, row.converted, row.conversion, row.avg_days, row.lost]
        for row in report.stages
    ]
    rows.append(["Won", report.won, report.won_amount, None, None, None, None])
    rows.append([])
    rows.append(["Refusals: stage", "Reason", "Deals", "Amount"])
    rows += [[r.stage_label, r.reason, r.count, r.amount] for r in report.refusals]
    return header, rows
