"""The board's column heads: how many open deals the user may see per stage, and their
money, read from OpenDealTotal (kept by triggers, migration 0011) instead of joining
every open deal with its customer (issue 15: 55-70 ms at 200,000 deals, now a few
hundred rows)."""

from decimal import Decimal

from django.db.models import Count, Sum

from customers.access import managed_scope

from .models import Deal, OpenDealTotal

CENT = Decimal("0.01")


def open_totals(user, *, manager=None, sale_type: str = "") -> dict[int, tuple[int, Decimal]]:
    """{stage: (open deals, their amount)} over the open deals `user` may see (a deal is
    visible by its manager or its customer's manager, as Deal.visible_to), optionally
    only those of the deal `manager` and of one `sale_type`. Stages without deals are absent."""
    rows = OpenDealTotal.objects.filter(managed_scope(user, "manager", "customer_manager"))
    if manager is not None:
        rows = rows.filter(manager=manager)
    if sale_type:
        rows = rows.filter(sale_type=sale_type)
    grouped = rows.order_by().values("stage").annotate(n=Sum("deals"), cents=Sum("cents"))
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
