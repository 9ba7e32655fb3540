"""What the pipeline shows on the customers app's pages, through crm_project.hooks: the
card's open deals, the deals' control points on the agenda, and each agenda row's open
deal. Each function costs one query, whatever the data size."""

from django.db.models import F, IntegerField, Q, Window
from django.db.models.functions import RowNumber
from django.db.models.lookups import In
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm_project import hooks
from crm_project.object_urls import object_url_for
from crm_project.prepared import Prepared, id_places, id_slots, id_values
from crm_project.probes import has_rows
from customers.access import scope_key

from .control_points import KINDS, control_points
from .deal_cards import open_deal_rows
from .models import Deal, Stage

AGENDA_CONTROL_POINTS = 20  # the agenda lists the most overdue; the page lists them all


def card_annotations(request) -> dict:
    """Whether the customer has an open deal at all, on the card's customer row
    (crm_project.hooks.CARD_ANNOTATIONS): without one the panel costs no query."""
    return {"card_open_deals": has_rows(Deal, "customer", status=Deal.Status.OPEN)}


# Compiled once per viewer's scope (crm_project.prepared): the card's open deals
_CARD_DEALS = Prepared(
    lambda viewer, key, *, customer: (
        Deal.objects.visible_to(viewer)
        .filter(customer_id=customer, status=Deal.Status.OPEN)
        .only("pk", "customer_id", "title", "stage", "amount")  # what the rows show
        .order_by("stage", "-pk")
    ),
    customer=IntegerField(),
)


def open_deals_panel(request, customer) -> hooks.Panel:
    # a deal is its manager's and the customer's manager's: not everyone's who sees a pool customer
    deals = []
    if getattr(customer, "card_open_deals", True):
        viewer = request.user
        deals = _CARD_DEALS.objects(viewer, scope_key(viewer), customer=customer.pk)
        for deal in deals:  # as from customer.deals: each knows its customer without a query
            Deal.customer.field.set_cached_value(deal, customer)
    return hooks.Panel(
        template="sales_pipeline/_card_deals.html",
        context={"open_deals": deals, "open_deal_rows": open_deal_rows(deals)},
        order=10,
    )


def control_point_rows(*, viewer, owner, today) -> list[hooks.AgendaRow]:
    """The overdue control dates of `owner`'s deals, as `viewer` may see them."""
    # translated and the address's shape read once a page, not once a row
    deal_url, over = object_url_for("sales_pipeline:deal_detail"), _("%(stage)s, %(days)d days over")
    stages = {stage: str(stage.label) for stage in Stage}
    kinds = {kind: str(label) for kind, label in KINDS.items()}
    return [
        hooks.AgendaRow(
            kind=kinds[point.kind],
            date=point.due,
            customer_id=point.customer_id,
            customer_name=point.customer_name,
            text=point.title,
            url=deal_url(point.deal_id),
            overdue=True,
            slug=f"control-point control-point-{point.kind}",
            detail=over % {"stage": stages[point.stage], "days": point.days_overdue},
        )
        for point in control_points(user=viewer, today=today, manager=owner, limit=AGENDA_CONTROL_POINTS)
    ]


def _ranked_open_deals(customers, viewer):
    """The most advanced open deal of each customer `customers` (a condition) selects, of
    those `viewer` may see, as values."""
    deals = Deal.objects.filter(customers, status=Deal.Status.OPEN)
    if viewer is not None:
        deals = deals.visible_to(viewer)
    return (
        deals
        .annotate(rank=Window(RowNumber(), partition_by="customer_id", order_by=["-stage", "-pk"]))
        .filter(rank=1)
        .values("pk", "customer_id", "stage", "amount")
    )  # fmt: skip


# Compiled once per viewer (their scope: customers.access.scope_key) and number of places
# for the customers' ids (crm_project.prepared)
_OPEN_DEALS = Prepared(
    lambda viewer, key, places: _ranked_open_deals(In(F("customer_id"), id_slots("customer", places)), viewer)
)


def open_deal_dossier(customer_ids: set[int], *, viewer=None) -> dict[int, list[hooks.DossierItem]]:
    """Each customer's most advanced open deal (stage, amount) among those `viewer` may
    see, in one query: a colleague covering a hand-over sees the customer, not its
    manager's deals."""
    if viewer is not None and customer_ids:
        places = id_places(customer_ids)
        ranked = _OPEN_DEALS.rows(viewer, scope_key(viewer), places, **id_values("customer", customer_ids, places))
    else:
        ranked = _ranked_open_deals(Q(customer_id__in=customer_ids), viewer)
    dossier = {}
    label, deal_url = _("Open deal"), object_url_for("sales_pipeline:deal_detail")  # once, not once a row
    for deal in ranked:
        text = f"{Stage(deal['stage']).label} · {number_format(deal['amount'], 2)}"
        dossier[deal["customer_id"]] = [hooks.DossierItem(label=label, text=text, url=deal_url(deal["pk"]))]
    return dossier
