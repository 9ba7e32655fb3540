"""What loyalty shows on other apps' pages, through crm_project.hooks: the customer card's
panel, agenda rows, the director's dashboard widget. A constant number of queries each."""

import calendar
from datetime import date, timedelta

from django.db.models import DateField, IntegerField, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from crm_project import hooks
from crm_project.object_urls import object_url
from crm_project.prepared import Prepared
from crm_project.probes import has_rows
from customers.access import own_customers_scope, sees_own
from customers.selectors.agenda import month_day_in
from segmentation.models import CustomerSnapshot, RecomputeRun

from . import selectors
from .models import Card, PointsEntry, Program, TierChange

LEDGER_EXCERPT = 10
ANNOUNCE_DAYS = 30  # tier changes older than this are no longer news
GIFT_DAYS = 7  # gifts are listed this many days before the card's anniversary


def card_annotations(request) -> dict:
    """Whether the customer holds a card, on the card's customer row
    (crm_project.hooks.CARD_ANNOTATIONS): most customers hold none, and then the panel
    costs no query."""
    if not request.user.has_perm("loyalty.view_card"):
        return {}
    return {"card_loyalty_cards": has_rows(Card, "holder")}


def card_panel(request, customer) -> hooks.Panel | None:
    """The customer's cards: program, tier, balance, the latest ledger entries and tier history."""
    if not request.user.has_perm("loyalty.view_card"):
        return None
    cards = []
    if getattr(customer, "card_loyalty_cards", True):
        cards = list(
            Card.objects.filter(holder=customer).select_related("program", "tier").order_by("-issued_on", "-pk")
        )
    entries, changes = [], []
    if cards:  # entries and tier changes hang off the cards: none without one, no query for them
        entries = list(PointsEntry.objects.filter(card__holder=customer).select_related("card")[:LEDGER_EXCERPT])
        changes = list(
            TierChange.objects.filter(card__holder=customer).select_related("card", "old_tier", "new_tier")[
                :LEDGER_EXCERPT
            ]
        )
    for card in cards:
        card.points_value = selectors.points_value(card)
    return hooks.Panel(
        template="loyalty/_card_panel.html",
        context={"loyalty_cards": cards, "loyalty_entries": entries, "loyalty_tier_changes": changes},
        column="side",
        order=40,
    )


# The columns the agenda's rows read.
TIER_CHANGE_COLUMNS = (
    "date", "reason", "card_id", "card__number", "card__holder_id", "card__holder__name", "old_tier__name",
    "new_tier__name",
)  # fmt: skip
GIFT_CARD_COLUMNS = (
    "pk", "issued_on", "holder_id", "holder__name", "program__gift_a", "program__gift_b", "program__gift_c",
    "holder_abc",
)  # fmt: skip


def _owner_cards(viewer, owner):
    """The active cards of `owner`'s customers that `viewer` sees (selectors.visible_cards:
    a card with a holder, in the viewer's scope; the holder's manager is given here)."""
    scope = own_customers_scope(viewer, owner, prefix="holder__")
    return Card.objects.filter(scope, holder__manager=owner, status=Card.Status.ACTIVE)


def _anniversary_days(today: date) -> list[tuple[int, int]]:
    """The (month, day) of the issue dates whose anniversary (_next_anniversary) can fall
    in [today, today + GIFT_DAYS]: the window's days, and 29 February when a 1 March of a
    non-leap year is one of them. Narrows the cards in SQL; the rule itself stays below."""
    days = [today + timedelta(days=offset) for offset in range(GIFT_DAYS + 1)]
    pairs = [(day.month, day.day) for day in days]
    if any((day.month, day.day) == (3, 1) and not calendar.isleap(day.year) for day in days):
        pairs.append((2, 29))
    return pairs


def _tier_changes(cards, *, since):
    """Tier changes of `cards` since `since` not yet announced, as values."""
    return (
        TierChange.objects.filter(
            card__in=cards.values("pk"), announced_on__isnull=True, date__gte=since, new_tier__isnull=False
        )
        .order_by("date", "pk")
        .values(*TIER_CHANGE_COLUMNS)
    )


def _gift_cards(cards, today: date):
    """`cards` whose anniversary may fall in the gift window, with their holder's class, as values."""
    # The class from the newest finished recompute, inside the same query (no query of its own).
    latest = RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE).order_by("-as_of").values("as_of")[:1]
    abc = CustomerSnapshot.objects.filter(as_of=Subquery(latest), customer_id=OuterRef("holder_id")).values("abc")[:1]
    return (
        cards.filter(month_day_in("issued_on", _anniversary_days(today)), issued_on__lt=today)
        .exclude(program__gift_a="", program__gift_b="", program__gift_c="")
        .annotate(holder_abc=Subquery(abc))
        .values(*GIFT_CARD_COLUMNS)
    )


# An owner's own agenda (no scope to add: customers.access.own_customers_scope): compiled once
# (crm_project.prepared), the gift window's days written out once a day.
_OWN_TIER_CHANGES = Prepared(
    lambda *, owner, since: _tier_changes(Card.objects.filter(holder__manager=owner, status=Card.Status.ACTIVE),
                                          since=since),
    owner=IntegerField(),
    since=DateField(),
)  # fmt: skip
_OWN_GIFT_CARDS = Prepared(
    lambda today, *, owner: _gift_cards(Card.objects.filter(holder__manager=owner, status=Card.Status.ACTIVE), today),
    owner=IntegerField(),
)


def agenda_rows(*, viewer, owner, today: date) -> list[hooks.AgendaRow]:
    """Tier changes of the last 30 days not yet announced to the customer, and gifts due
    (by the holder's class) for cards whose anniversary comes within a week."""
    if not viewer.has_perm("loyalty.view_card"):
        return []
    since = today - timedelta(days=ANNOUNCE_DAYS)
    if sees_own(viewer, owner):
        changes = _OWN_TIER_CHANGES.rows(owner=owner.pk, since=since)
        cards = _OWN_GIFT_CARDS.rows(today, owner=owner.pk)
    else:
        changes = _tier_changes(_owner_cards(viewer, owner), since=since)
        cards = _gift_cards(_owner_cards(viewer, owner), today)
    rows = []
    for change in changes:
        rows.append(
            hooks.AgendaRow(
                kind=_("Tier change to announce"),
                date=change["date"],
                customer_id=change["card__holder_id"],
                customer_name=change["card__holder__name"],
                text=_("Card %(number)s: %(old)s → %(new)s")
                % {"number": change["card__number"], "old": change["old_tier__name"] or "—",
                   "new": change["new_tier__name"]},
                url=object_url("loyalty:card_detail", change["card_id"]),
                slug="loyalty-tier-change",
                detail=change["reason"],
            )
        )  # fmt: skip
    for card in cards:
        anniversary = _next_anniversary(card["issued_on"], today)
        program = Program(
            gift_a=card["program__gift_a"], gift_b=card["program__gift_b"], gift_c=card["program__gift_c"]
        )
        gift = program.gift_for(card["holder_abc"] or "")
        if gift and anniversary <= today + timedelta(days=GIFT_DAYS) and anniversary.year > card["issued_on"].year:
            rows.append(
                hooks.AgendaRow(
                    kind=_("Gift due"),
                    date=anniversary,
                    customer_id=card["holder_id"],
                    customer_name=card["holder__name"],
                    text=_("%(gift)s (class %(abc)s, card anniversary)") % {"gift": gift, "abc": card["holder_abc"]},
                    url=object_url("loyalty:card_detail", card["pk"]),
                    slug="loyalty-gift",
                )
            )
    return rows


def _next_anniversary(issued: date, today: date) -> date:
    for year in (today.year, today.year + 1):
        try:
            day = issued.replace(year=year)
        except ValueError:  # 29 February
            day = date(year, 3, 1)
        if day >= today:
            return day
    return today


def dashboard_facts(*, start: date, end: date) -> list[tuple]:
    """hooks.DASHBOARD_FACTS: the widget's loyalty index and regular customers per manager,
    counted when reporting fills the period."""
    return selectors.index_by_manager(as_of=end)


def dashboard_widget(request, start: date, end: date, stored: dict | None = None) -> hooks.Widget | None:
    """Loyalty at a glance for the director: loyalty index, points liability and what expires
    soon. `stored`: dashboard_facts' rows summed over the managers the user sees (the
    dashboard's pre-aggregated rows); without them the index is computed now."""
    if not request.user.has_perm("loyalty.view_card"):
        return None
    if stored is not None:
        measures = selectors.IndexFigures.of(stored)
    else:
        measures = selectors.measures(user=request.user, as_of=end)
    liability = selectors.liability(user=request.user, today=end)
    return hooks.Widget(
        title=_("Loyalty"),
        template="loyalty/_dashboard_widget.html",
        context={
            "loyalty_measures": measures,
            "loyalty_liability": liability,
            "measures_url": reverse("loyalty:measures"),
        },
        order=40,
    )
