"""The board's column heads: how many open deals the user may see per stage, and their
money, read from OpenDealTotal (kept by triggers, migration 0011) instead of joining
every open deal with its customer (issue 15: 55-70 ms at 200,000 deals, now a few
hundred rows)."""

from decimal import Decimal

from django.db.models import CharField, Count, IntegerField, Sum

from crm_project.prepared import Prepared
from customers.access import managed_scope, scope_key

from .models import Deal, OpenDealTotal

CENT = Decimal("0.01")


def _grouped_totals(user, key, by_manager: bool, by_sale_type: bool, *, manager, sale_type):
    rows = OpenDealTotal.objects.filter(managed_scope(user, "manager", "customer_manager"))
    if by_manager:
        rows = rows.filter(manager_id=manager)
    if by_sale_type:
        rows = rows.filter(sale_type=sale_type)
    return rows.order_by().values("stage").annotate(n=Sum("deals"), cents=Sum("cents"))


# Compiled once per viewer's scope and filters given (crm_project.prepared): the board
# reads it on every request, and building it through the ORM cost more than running it.
_OPEN_TOTALS = Prepared(_grouped_totals, manager=IntegerField(), sale_type=CharField())


def open_totals(user, *, manager=None, sale_type: str = "") -> dict[int, tuple[int, Decimal]]:
    """{stage: (open deals, their amount)} over the open deals `user` may see (a deal is
    visible by its manager or its customer's manager, as Deal.visible_to), optionally
    only those of the deal `manager` and of one `sale_type`. Stages without deals are absent."""
    grouped = _OPEN_TOTALS.rows(
        user,
        scope_key(user),
        manager is not None,
        bool(sale_type),
        manager=getattr(manager, "pk", manager),
        sale_type=sale_type,
    )
    return {row["stage"]: (row["n"], (Decimal(row["cents"]) * CENT)) for row in grouped if row["n"]}


def live_open_totals() -> dict[tuple[int, int, int, str], tuple[int, int]]:
    """The stored table recomputed from the deals: {(manager, customer's manager or 0,
    stage, sale type): (deals, cents)}. The tests compare it with stored_open_totals."""
    rows = (
        Deal.objects.filter(status=Deal.Status.OPEN)
        .order_by()
        .values_list("manager_id", "customer__manager_id", "stage", "sale_type")
        .annotate(n=Count("pk"), total=Sum("amount"))
    )
    return {
        (manager, customer_manager or 0, stage, sale_type): (n, int((total * 100).to_integral_value()))
        for manager, customer_manager, stage, sale_type, n, total in rows
    }


def stored_open_totals() -> dict[tuple[int, int, int, str], tuple[int, int]]:
    """OpenDealTotal's rows in live_open_totals' shape."""
    rows = OpenDealTotal.objects.values_list(
        "manager_id", "customer_manager_id", "stage", "sale_type", "deals", "cents"
    )
    return {(m, cm, stage, sale_type): (n, cents) for m, cm, stage, sale_type, n, cents in rows}
