"""The board: open deals in six columns, moved by drag and drop (htmx)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import CharField, IntegerField
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_project.dates import business_today
from crm_project.prepared import Prepared
from customers.access import scope_key

from .. import control_points as points
from .. import deal_rules, deal_totals
from ..deal_forms import BoardFilterForm, MoveForm
from ..models import Deal, Stage
from ..services import deals as deal_services
from .common import CHANGE, OPEN, VIEW, deal_or_404, error_text, visible_deals

BOARD_CARDS = 20  # newest cards per column; the column links to the full filtered list
# What a card shows and its alerts read (control_points.deal_alerts): a customer has some
# thirty columns, and building them for 120 cards was a tenth of the board's time.
CARD_FIELDS = (
    "title",
    "amount",
    "stage",
    "status",
    "stage_entered_at",
    "offer_expires",
    "invoice_expires",
    "event_date",
    "customer__name",
    "manager__username",
    "manager__first_name",
    "manager__last_name",
)


def _card_rows(deals):
    return deals.with_paid().select_related("customer", "manager").only(*CARD_FIELDS)


def _annotated(cards: list, today) -> list:
    """`cards` with what a card shows besides its fields: its alerts and days in stage."""
    for card in cards:
        card.alerts = points.deal_alerts(card, today)
        card.days = deal_rules.days_in_current_stage(card, today)
    return cards


def _cards(deals):
    return _annotated(list(_card_rows(deals)), business_today())


def _open_deals(deals, by_manager: bool, by_sale_type: bool, *, manager, sale_type):
    """The open deals among `deals` that the board's filters keep: the deal `manager` and
    the `sale_type`, each only when given (`by_manager`, `by_sale_type`)."""
    deals = deals.filter(status=OPEN)
    if by_manager:
        deals = deals.filter(manager_id=manager)
    if by_sale_type:
        deals = deals.filter(sale_type=sale_type)
    return deals


def _column_deals(viewer, key, by_manager: bool, by_sale_type: bool, limit: int, *, stage, manager, sale_type):
    """A column's newest `limit` cards among the open deals `viewer` may see, the board's
    filters given."""
    deals = _open_deals(Deal.objects.visible_to(viewer), by_manager, by_sale_type, manager=manager, sale_type=sale_type)
    return _card_rows(deals.filter(stage=stage).order_by("-pk")[:limit])


# Compiled once per viewer's scope, filters given and cards per column (crm_project.prepared)
# and run once per column with its stage: built through the ORM, the six columns' queries
# were a fifth of the board's Python time.
_COLUMN_CARDS = Prepared(_column_deals, stage=IntegerField(), manager=IntegerField(), sale_type=CharField())


def _filter_values(filters: dict) -> tuple:
    """_open_deals' arguments after `deals` for the board's `filters`."""
    manager, sale_type = filters.get("manager"), filters.get("sale_type", "")
    return manager is not None, bool(sale_type), {"manager": getattr(manager, "pk", None), "sale_type": sale_type}


def _column_cards(request, filters: dict, stage: int, today) -> list:
    """The column `stage`'s newest BOARD_CARDS cards, through the compiled statement."""
    viewer = request.user
    by_manager, by_sale_type, values = _filter_values(filters)
    cards = _COLUMN_CARDS.objects(
        viewer, scope_key(viewer), by_manager, by_sale_type, BOARD_CARDS, stage=stage, **values
    )
    return _annotated(cards, today)


def _board_filters(request, params):
    """The filter form and its filters as open_totals' keywords."""
    form = BoardFilterForm(params, user=request.user)
    filters = {}
    if form.is_valid():
        if form.cleaned_data["manager"] is not None:
            filters["manager"] = form.cleaned_data["manager"]
        if form.cleaned_data["sale_type"]:
            filters["sale_type"] = form.cleaned_data["sale_type"]
    return form, filters


def _column_heads(request, form, filters) -> list[dict]:
    """Count and money of every column, from the stored totals (deal_totals)."""
    totals = deal_totals.open_totals(request.user, **filters)
    query = {k: v for k, v in (form.data.items() if form.is_bound else []) if k in ("manager", "sale_type") and v}
    params = "&".join(f"{k}={v}" for k, v in query.items())
    list_url = reverse("sales_pipeline:deal_list")
    heads = []
    for stage in Stage:
        count, total = totals.get(stage.value, (0, 0))
        heads.append(
            {
                "stage": stage.value,
                "label": stage.label,
                "count": count,
                "total": total,
                "list_url": f"{list_url}?status=open&stage={stage.value}" + (f"&{params}" if params else ""),
            }
        )
    return heads


@login_required
@permission_required(VIEW, raise_exception=True)
def deal_board(request):
    """GET: the open deals as six columns, each with its count and money and its newest
    BOARD_CARDS cards. Seven queries (the stored totals, one per column) whatever the size."""
    form, filters = _board_filters(request, request.GET or None)
    heads = _column_heads(request, form, filters)
    today = business_today()
    for head in heads:
        head["cards"] = _column_cards(request, filters, head["stage"], today)
    return render(
        request, "sales_pipeline/deal_board.html", {"columns": heads, "form": form, "board_cards": BOARD_CARDS}
    )


def _board_move_response(request, deal: Deal, error: str):
    form, filters = _board_filters(request, request.POST)
    by_manager, by_sale_type, values = _filter_values(filters)
    card = _cards(_open_deals(visible_deals(request), by_manager, by_sale_type, **values).filter(pk=deal.pk))
    if error or not card:
        # Failed (the card stays with the reason), or moved out of the board's filter.
        card = card or _cards(visible_deals(request).filter(pk=deal.pk))
        return render(request, "sales_pipeline/_deal_card.html", {"deal": card[0], "error": error})
    heads = {head["stage"]: head for head in _column_heads(request, form, filters)}
    context = {"deal": card[0], "heads": heads.values(), "board_cards": BOARD_CARDS}
    return render(request, "sales_pipeline/_deal_moved.html", context)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def deal_move(request, pk):
    """POST to_stage: move the deal (deal_services.deal_move). From the board (htmx,
    from=board): the card moves to its new column and both column heads are redrawn, or
    the card comes back with what is missing. Otherwise a redirect with a message."""
    deal = deal_or_404(request, pk)
    form = MoveForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("Pick the stage to move to.")
    else:
        try:
            deal = deal_services.deal_move(deal=deal, to_stage=form.cleaned_data["to_stage"], actor=request.user)
        except ValidationError as exc:
            error = error_text(exc)
    if request.htmx and request.POST.get("from") == "board":
        return _board_move_response(request, deal, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Moved to %(stage)s.") % {"stage": deal.get_stage_display()})
    return redirect(deal)
