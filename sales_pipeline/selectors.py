"""The ledger's read interface: how segmentation, loyalty and reporting read money.

No other app queries the ledger's tables directly (architecture.md). The day table
(SettlementDay, one row per customer and day, kept by the ledger's triggers) answers
per-customer-day questions at a tenth of the lines' cost; per-product-line questions need
the lines themselves. Money in the day table is in integer units of 1/10,000.
"""

from datetime import date

from django.db.models import F, Min, QuerySet

from .models import MONEY_PLACES, SettlementDay, SettlementLine

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
