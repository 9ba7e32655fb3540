"""Loyalty pages: card list, card, issuing, the point of sale, measures, campaigns; and the
two public pages a campaign e-mail links to (tracked link, unsubscribe), signed.

Every card comes through Card.objects.visible_to(user): another manager's card is a 404.
Views are thin: each action calls one service.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_project.charts import bar_chart, line_chart
from crm_project.dates import business_today
from crm_project.views import ScopedListView
from customers.models import Customer

from . import campaigns, selectors, services
from .filters import CampaignFilterSet, CardFilterSet
from .forms import (
    AdjustForm,
    CampaignForm,
    CampaignStepFormSet,
    CardIssueForm,
    FloorForm,
    LookupForm,
    RedeemForm,
    step_rows,
)
from .models import Campaign, CampaignMember, Card, Program, TierChange
from .tables import CampaignTable, CardTable

LEDGER_PAGE = 50
LOOKUP_LIMIT = 20


CARD_LIST_FIELDS = ("number", "holder__name", "holder__external_ref", "program__name", "tier__name", "status",
                    "balance", "issued_on", "expires_on")  # fmt: skip


class CardListView(ScopedListView):
    model = Card
    permission_required = "loyalty.view_card"
    # the table's columns only: the program's and the holder's other columns were most of
    # what the page compiled and loaded for 25 rows
    queryset = Card.objects.select_related("program", "tier", "holder").only(*CARD_LIST_FIELDS)
    filterset_class = CardFilterSet
    table_class = CardTable
    template_name = "loyalty/card_list.html"
    export_name = "loyalty-cards"


def _card(request, pk) -> Card:
    return get_object_or_404(Card.objects.visible_to(request.user).select_related("program", "tier", "holder"), pk=pk)


@login_required
@permission_required("loyalty.view_card", raise_exception=True)
def card_detail(request, pk):
    card = _card(request, pk)
    entries = Paginator(card.entries.select_related("created_by").order_by("-date", "-pk"), LEDGER_PAGE)
    return render(
        request,
        "loyalty/card_detail.html",
        {
            "card": card,
            "entries": entries.get_page(request.GET.get("page")),
            "tier_changes": card.tier_changes.select_related("old_tier", "new_tier", "changed_by"),
            "points_value": selectors.points_value(card),
            "adjust_form": AdjustForm(),
            "floor_form": FloorForm(card=card, initial={"floor_tier": card.floor_tier_id}),
            "statuses": Card.Status.choices,
            "is_points": card.program.kind == Program.Kind.POINTS,
            "is_tiered": card.program.kind == Program.Kind.TIERED,
        },
    )


@login_required
@permission_required("loyalty.add_card", raise_exception=True)
def card_issue(request):
    initial = {"holder": request.GET.get("customer")}
    form = CardIssueForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            card = services.card_issue(
                program=form.cleaned_data["program"],
                holder=form.cleaned_data["holder"],
                expires_on=form.cleaned_data["expires_on"],
                actor=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Card %(number)s issued.") % {"number": card.number})
            return redirect(card)
    return render(request, "loyalty/card_issue.html", {"form": form})


@login_required
@require_POST
@permission_required("loyalty.change_card", raise_exception=True)
def card_adjust(request, pk):
    card = _card(request, pk)
    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.points_adjust(card=card, actor=request.user, **form.cleaned_data)
            messages.success(request, _("Points adjusted."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    else:
        messages.error(request, _("Give the points and the reason."))
    return redirect(card)


@login_required
@require_POST
@permission_required("loyalty.change_card", raise_exception=True)
def card_floor(request, pk):
    card = _card(request, pk)
    form = FloorForm(request.POST, card=card)
    if form.is_valid():
        services.card_floor_set(card=card, floor_tier=form.cleaned_data["floor_tier"], actor=request.user)
        messages.success(request, _("Manual floor tier saved."))
    return redirect(card)


@login_required
@require_POST
@permission_required("loyalty.change_card", raise_exception=True)
def card_status(request, pk):
    card = _card(request, pk)
    status = request.POST.get("status")
    if status in Card.Status.values:
        services.card_status_set(card=card, status=status, actor=request.user)
        messages.success(request, _("Card status saved."))
    return redirect(card)


@login_required
@require_POST
@permission_required("loyalty.change_tierchange", raise_exception=True)
def tier_change_announced(request, pk):
    change = get_object_or_404(TierChange.objects.filter(card__in=Card.objects.visible_to(request.user)), pk=pk)
    TierChange.objects.filter(pk=change.pk).update(announced_on=business_today())
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = change.card.get_absolute_url()  # never off-site (SEC-14)
    return redirect(target)


#
# The point of sale
#


def _lookup(user, q: str) -> list[Card]:
    q = q.strip()
    cards = Card.objects.visible_to(user).select_related("program", "tier", "holder")
    found = cards.filter(
        Q(number=q.replace(" ", "")) | Q(holder__external_ref__iexact=q) | Q(holder__name__icontains=q)
    )
    return list(found.prefetch_related("program__brackets").order_by("holder__name", "number")[:LOOKUP_LIMIT])


@login_required
@permission_required("loyalty.view_card", raise_exception=True)
def point_of_sale(request):
    """GET ?q=<number or customer>&amount=<purchase>: the cards found, the best discount on
    the amount (per holder, over their active cards), the points to redeem. POST redeems,
    after a confirmation step."""
    lookup = LookupForm(request.GET or None)
    cards, choice, amount = [], None, None
    if lookup.is_valid():
        cards = _lookup(request.user, lookup.cleaned_data["q"])
        amount = lookup.cleaned_data.get("amount")
        if amount is not None and cards:
            holder_cards = [c for c in cards if c.holder_id == cards[0].holder_id] if cards[0].holder_id else cards[:1]
            choice = selectors.best_for(cards=holder_cards, amount=amount)
    for card in cards:
        card.points_value = selectors.points_value(card)
    redeem = None
    if request.method == "POST":
        if not request.user.has_perm("loyalty.add_pointsentry"):
            raise PermissionDenied  # looking cards up is not redeeming
        redeem = RedeemForm(request.POST, user=request.user)
        if redeem.is_valid():
            card = redeem.cleaned_data["card"]
            points = redeem.cleaned_data["points"]
            if not redeem.cleaned_data["confirm"]:
                value = (points * card.program.point_value).quantize(Decimal("0.01"))
                return render(
                    request,
                    "loyalty/redeem_confirm.html",
                    {"form": redeem, "card": card, "points": points, "value": value},
                )
            try:
                services.points_redeem(
                    card=card, points=points, reason=redeem.cleaned_data["reason"], actor=request.user
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    _("%(points)s points redeemed from card %(number)s.") % {"points": points, "number": card.number},
                )
            return redirect(f"{reverse('loyalty:pos')}?q={card.number}")
    return render(
        request,
        "loyalty/pos.html",
        {"lookup": lookup, "cards": cards, "choice": choice, "amount": amount, "redeem_error": redeem},
    )


#
# Measures
#


@login_required
@permission_required("loyalty.view_card", raise_exception=True)
def measures(request):
    today = business_today()
    periods = selectors.measures_by_period(user=request.user, as_of=today)
    liability = selectors.liability(user=request.user, today=today)
    tiers = selectors.tier_distribution(user=request.user)
    labels = [date_format(m.as_of, "d M Y") for m in periods]
    index_chart = line_chart(
        labels,
        [
            (_("Loyalty index, %"), [float(m.loyalty_index or 0) * 100 for m in periods]),
            (_("Existing customers' share, %"), [float(m.existing_share or 0) * 100 for m in periods]),
        ],
        label=_("Loyalty index and existing customers' share by period"),
    )
    tier_chart = bar_chart(
        [f"{row['program_name']}: {row['tier_name'] or _('no tier')}" for row in tiers],
        [(_("Cards"), [row["cards"] for row in tiers])],
        label=_("Cards per tier"),
    )
    expiry_chart = bar_chart(
        [_("%(days)s days") % {"days": days} for days, _p, _v in liability.expiring],
        [(_("Points"), [points for _d, points, _v in liability.expiring])],
        label=_("Points expiring"),
        height=180,
    )
    return render(
        request,
        "loyalty/measures.html",
        {
            "periods": periods,
            "current": periods[-1],
            "liability": liability,
            "tiers": tiers,
            "index_chart": index_chart,
            "tier_chart": tier_chart,
            "expiry_chart": expiry_chart,
        },
    )


#
# Campaigns
#


class CampaignListView(ScopedListView):
    model = Campaign
    permission_required = "loyalty.view_campaign"
    filterset_class = CampaignFilterSet
    table_class = CampaignTable
    template_name = "loyalty/campaign_list.html"
    export_name = "campaigns"

    def get_queryset(self):
        # Steps and members counted in the page's one query; members only among the
        # customers the viewer may see (as on the campaign's page).
        return selectors.campaigns_with_counts(super().get_queryset(), user=self.request.user)


def _campaign(request, pk) -> Campaign:
    return get_object_or_404(Campaign.objects.visible_to(request.user), pk=pk)


@login_required
@permission_required("loyalty.view_campaign", raise_exception=True)
def campaign_detail(request, pk):
    campaign = _campaign(request, pk)
    results = campaigns.campaign_results(campaign)
    chart = bar_chart(
        [f"{r.step.position}. {r.step.subject}" for r in results],
        [
            (_("Sent"), [r.sent for r in results]),
            (_("Responded"), [r.responded for r in results]),
            (_("Bought after"), [r.buyers for r in results]),
        ],
        label=_("Campaign results per step"),
    )
    # Only the members the viewer may see: their number, drop-outs and names.
    members = campaign.members.filter(customer__in=Customer.objects.visible_to(request.user))
    counts = members.aggregate(
        total=Count("pk"),
        bought=Count("pk", filter=Q(dropped=CampaignMember.Dropped.BOUGHT)),
        opted_out=Count("pk", filter=Q(dropped=CampaignMember.Dropped.OPTED_OUT)),
    )
    audience_count = None
    if campaign.status == Campaign.Status.DRAFT:
        audience_count = campaigns.audience_count(campaign, user=request.user, today=business_today())
    return render(
        request,
        "loyalty/campaign_detail.html",
        {
            "campaign": campaign,
            "results": results,
            "chart": chart,
            "counts": counts,
            "audience_count": audience_count,
            "members": members.select_related("customer").order_by("customer__name")[:100],
        },
    )


@login_required
@permission_required("loyalty.add_campaign", raise_exception=True)
def campaign_create(request):
    return _campaign_form(request, Campaign())


@login_required
@permission_required("loyalty.change_campaign", raise_exception=True)
def campaign_edit(request, pk):
    campaign = _campaign(request, pk)
    if campaign.status != Campaign.Status.DRAFT:
        messages.error(request, _("Only a draft campaign can be edited."))
        return redirect(campaign)
    return _campaign_form(request, campaign)


def _campaign_form(request, campaign: Campaign):
    """The campaign with its steps (a formset). "Preview" counts the audience of the filter
    as entered, saving nothing; "Save" writes both through campaigns.campaign_save."""
    data = request.POST if request.method == "POST" else None
    form = CampaignForm(data, instance=campaign)
    steps = CampaignStepFormSet(data, instance=campaign, prefix="steps")
    audience_count = None
    if campaign.pk and data is None:
        audience_count = campaigns.audience_count(campaign, user=request.user, today=business_today())
    if data is not None:
        form_ok, steps_ok = form.is_valid(), steps.is_valid()
        if "preview" in data:
            if form_ok:
                audience_count = campaigns.audience_count(form.instance, user=request.user, today=business_today())
        elif form_ok and steps_ok:
            try:
                saved = campaigns.campaign_save(campaign=form.instance, steps=step_rows(steps), actor=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Campaign %(name)s saved.") % {"name": saved.name})
                return redirect(saved)
    return render(
        request,
        "loyalty/campaign_form.html",
        {"form": form, "steps": steps, "campaign": campaign, "audience_count": audience_count},
    )


@login_required
@require_POST
@permission_required("loyalty.change_campaign", raise_exception=True)
def campaign_start(request, pk):
    campaign = _campaign(request, pk)
    try:
        count = campaigns.campaign_start(campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        from crm_project.queue import QueueUnavailable, enqueue

        from .tasks import campaign_send_due_task

        messages.success(request, _("Campaign started with %(count)s customers.") % {"count": count})
        try:
            enqueue(campaign_send_due_task, campaign.pk)
        except QueueUnavailable:
            # Started all the same: the hourly run sends every due step.
            messages.warning(request, _("The job queue cannot be reached just now: its first messages go out "
                                        "with the next hourly run."))
    return redirect(campaign)


@login_required
@require_POST
@permission_required("loyalty.change_campaign", raise_exception=True)
def campaign_stop(request, pk):
    campaign = _campaign(request, pk)
    try:
        campaigns.campaign_stop(campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Campaign stopped: nothing more will be sent."))
    return redirect(campaign)


# Public: reached from an e-mail, without logging in; the signed token is the only key.


def campaign_track(request, token):
    message_id = campaigns.read_token(token, salt=campaigns.TRACK_SALT)
    if message_id is not None:
        campaigns.record_response(message_id=message_id)
    return render(request, "loyalty/public_thanks.html", {"valid": message_id is not None})


def unsubscribe(request, token):
    customer_id = campaigns.read_token(token, salt=campaigns.UNSUBSCRIBE_SALT)
    done = False
    if customer_id is not None and request.method == "POST":
        campaigns.opt_out(customer_id=customer_id)
        done = True
    return render(request, "loyalty/public_unsubscribe.html", {"valid": customer_id is not None, "done": done})
