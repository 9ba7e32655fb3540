"""Loyalty pages: scope, the list's export, the point of sale, measures, hooks; query counts pinned."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_project import hooks
from crm_project.dates import business_today
from loyalty import panels, services
from loyalty.models import Card, Program, ScaleBracket, TierChange
from tests.factories import CustomerFactory, SettlementLineFactory

from .helpers import points_program, tiered_program

pytestmark = pytest.mark.django_db


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(queries)


def make_cards(n: int, manager, program) -> list[Card]:
    cards = []
    for _ in range(n):
        card = services.card_issue(program=program, holder=CustomerFactory(manager=manager))
        services.points_adjust(card=card, points=10, reason="Welcome")
        cards.append(card)
    return cards


def test_another_managers_card_is_not_in_the_list_nor_its_export(mgr_a, mgr_b, client_for):
    program = points_program()
    mine = services.card_issue(program=program, holder=CustomerFactory(manager=mgr_b, name="Bravo Bakery"))
    theirs = services.card_issue(program=program, holder=CustomerFactory(manager=mgr_a, name="Alpha Works"))
    client = client_for(mgr_b)
    page = client.get(reverse("loyalty:card_list")).content.decode()
    assert mine.number in page and theirs.number not in page
    exported = client.get(reverse("loyalty:card_list"), {"_export": "csv"}).content.decode()
    assert mine.number in exported and theirs.number not in exported
    assert client.get(reverse("loyalty:card_detail", args=[theirs.pk])).status_code == 404
    at_the_till = client.get(reverse("loyalty:pos"), {"q": theirs.number})
    assert at_the_till.context["cards"] == [] and "No card matches" in at_the_till.content.decode()


def test_bearer_cards_are_seen_only_by_those_who_see_everything(mgr_a, admin_user, client_for):
    bearer = services.card_issue(program=Program.objects.create(name="Walk-in", kind=Program.Kind.BEARER))
    assert client_for(mgr_a).get(reverse("loyalty:card_detail", args=[bearer.pk])).status_code == 404
    assert client_for(admin_user).get(reverse("loyalty:card_detail", args=[bearer.pk])).status_code == 200


def test_the_list_filters_by_program_and_status(mgr_a, client_for):
    points, tiers = points_program(), tiered_program()
    a = services.card_issue(program=points, holder=CustomerFactory(manager=mgr_a))
    b = services.card_issue(program=tiers, holder=CustomerFactory(manager=mgr_a))
    services.card_status_set(card=b, status=Card.Status.BLOCKED)
    page = client_for(mgr_a).get(reverse("loyalty:card_list"), {"status": "blocked"}).content.decode()
    assert b.number in page and a.number not in page
    page = client_for(mgr_a).get(reverse("loyalty:card_list"), {"program": points.pk}).content.decode()
    assert a.number in page and b.number not in page


def test_the_card_list_costs_the_same_queries_for_3_and_30_cards(mgr_a, client_for):
    program = points_program()
    client = client_for(mgr_a)
    make_cards(3, mgr_a, program)
    few = count_queries(client, reverse("loyalty:card_list"))
    make_cards(27, mgr_a, program)
    assert count_queries(client, reverse("loyalty:card_list")) == few


def test_the_card_panel_costs_the_same_queries_with_1_and_15_entries(cust_a, mgr_a, client_for):
    program = tiered_program()
    card = services.card_issue(program=program, holder=cust_a)
    points = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=points, points=5, reason="Welcome")
    client = client_for(mgr_a)
    few = count_queries(client, cust_a.get_absolute_url())
    for i in range(14):
        services.points_adjust(card=points, points=1, reason=f"Bonus {i}")
        services.card_floor_set(card=card, floor_tier=program.tiers.get(rank=1 + i % 3))
    page = client.get(cust_a.get_absolute_url()).content.decode()
    assert count_queries(client, cust_a.get_absolute_url()) == few
    assert points.number in page and card.number in page and "loyalty-balance" in page


def test_the_customer_card_shows_balance_tier_and_ledger(cust_a, mgr_a, client_for):
    card = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=card, points=120, reason="Welcome")
    services.points_redeem(card=card, points=20)
    page = client_for(mgr_a).get(cust_a.get_absolute_url()).content.decode()
    assert 'id="card-loyalty"' in page
    assert '<strong class="loyalty-balance">100</strong>' in page
    assert "Redemption" in page and "Adjustment" in page


def test_the_point_of_sale_states_the_best_discount_of_the_holders_cards(cust_a, mgr_a, client_for):
    personal = Program.objects.create(name="Personal", kind=Program.Kind.PERSONAL, discount_percent=Decimal("4"))
    scale = Program.objects.create(name="Scale", kind=Program.Kind.SCALE)
    ScaleBracket.objects.create(program=scale, min_amount=Decimal("0"), discount_percent=Decimal("1"))
    ScaleBracket.objects.create(program=scale, min_amount=Decimal("5000"), discount_percent=Decimal("6"))
    services.card_issue(program=personal, holder=cust_a)
    services.card_issue(program=scale, holder=cust_a)
    client = client_for(mgr_a)
    small = client.get(reverse("loyalty:pos"), {"q": cust_a.name, "amount": "1000"})
    assert small.context["choice"].rule.label == "Personal: 4.00%"
    assert small.context["choice"].discount == Decimal("40.00")
    big = client.get(reverse("loyalty:pos"), {"q": cust_a.external_ref, "amount": "5000"})
    assert big.context["choice"].discount == Decimal("300.00")
    assert "Scale: 6.00% from 5000.00" in big.content.decode()


def test_the_tier_discount_applies_at_the_point_of_sale(cust_a, mgr_a, client_for):
    card = services.card_issue(program=tiered_program(), holder=cust_a)
    response = client_for(mgr_a).get(reverse("loyalty:pos"), {"q": card.number, "amount": "200"})
    assert response.context["choice"].discount == Decimal("6.00")  # Silver, 3 %


def test_redeeming_at_the_point_of_sale_asks_for_confirmation_first(cust_a, mgr_a, client_for):
    card = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=card, points=100, reason="Welcome")
    client = client_for(mgr_a)
    url = reverse("loyalty:pos")
    asked = client.post(url, {"card": card.pk, "points": 40, "reason": "Till 3"})
    assert asked.status_code == 200 and "worth 20.00" in asked.content.decode()  # 40 x 0.5
    card.refresh_from_db()
    assert card.balance == 100
    done = client.post(url, {"card": card.pk, "points": 40, "reason": "Till 3", "confirm": "1"})
    assert done.status_code == 302
    card.refresh_from_db()
    assert card.balance == 60
    refused = client.post(url, {"card": card.pk, "points": 61, "confirm": "1"}, follow=True)
    assert "has 60 points; 61 asked" in refused.content.decode()


def test_another_managers_card_cannot_be_redeemed_by_posting_its_id(cust_a, mgr_b, client_for):
    card = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=card, points=100, reason="Welcome")
    response = client_for(mgr_b).post(reverse("loyalty:pos"), {"card": card.pk, "points": 40, "confirm": "1"})
    assert response.status_code == 200  # the form says "not a valid choice"
    card.refresh_from_db()
    assert card.balance == 100


def test_issuing_a_card_from_the_page(cust_a, mgr_a, client_for):
    program = points_program()
    client = client_for(mgr_a)
    response = client.post(reverse("loyalty:card_issue"), {"program": program.pk, "holder": cust_a.pk})
    card = Card.objects.get(holder=cust_a)
    assert response.status_code == 302 and response["Location"] == card.get_absolute_url()
    refused = client.post(reverse("loyalty:card_issue"), {"program": program.pk})
    assert "holder" in refused.context["form"].errors


def test_a_manager_cannot_issue_a_card_to_another_managers_customer(cust_c, mgr_a, client_for):
    response = client_for(mgr_a).post(
        reverse("loyalty:card_issue"), {"program": points_program().pk, "holder": cust_c.pk}
    )
    assert "holder" in response.context["form"].errors
    assert not Card.objects.exists()


def test_the_measures_page_shows_liability_and_expiring_points(cust_a, mgr_a, client_for):
    today = business_today()
    card = services.card_issue(
        program=points_program(expiry_days=45), holder=cust_a, issued_on=today - timedelta(days=10)
    )
    SettlementLineFactory(customer=cust_a, date=today - timedelta(days=5), amount=Decimal("1000"))  # 100 points
    services.points_accrue()
    services.points_adjust(card=card, points=20, reason="Never expires")
    response = client_for(mgr_a).get(reverse("loyalty:measures"))
    liability = response.context["liability"]
    assert (liability.points, liability.value) == (120, Decimal("60.00"))  # x 0.5
    # the lot expires 40 days from today: not within 30, within 60 and 90
    assert liability.expiring == [(30, 0, Decimal("0.00")), (60, 100, Decimal("50.00")), (90, 100, Decimal("50.00"))]
    assert "<svg" in response.content.decode()


def test_loyalty_index_and_shares(mgr_a, client_for, settings):
    from segmentation.models import ClassificationSettings

    ClassificationSettings.objects.update_or_create(pk=1, defaults={"period_months": 3, "window_months": 12})
    from loyalty.selectors import measures

    d = date(2026, 6, 30)
    loyal = CustomerFactory(manager=mgr_a)
    once = CustomerFactory(manager=mgr_a, referred_by=loyal)
    SettlementLineFactory(customer=loyal, date=date(2025, 1, 10), amount=Decimal("100"))  # before the window
    SettlementLineFactory(customer=loyal, date=date(2026, 6, 1), amount=Decimal("300"))  # period 0
    SettlementLineFactory(customer=loyal, date=date(2026, 2, 1), amount=Decimal("100"))  # period 1
    SettlementLineFactory(customer=once, date=date(2026, 5, 1), amount=Decimal("600"))  # period 0 only
    m = measures(user=mgr_a, as_of=d)
    assert (m.buyers, m.loyal_buyers, m.loyalty_index) == (2, 1, Decimal("0.5"))
    assert m.revenue == Decimal("1000") and m.existing_revenue == Decimal("400")
    assert m.existing_share == Decimal("0.4")
    assert m.referral_revenue == Decimal("600")


def test_agenda_rows_announce_tier_changes_and_gifts_due(cust_a, mgr_a, mgr_b):
    from segmentation.models import CustomerSnapshot, RecomputeRun

    today = business_today()
    RecomputeRun.objects.create(as_of=today, status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.create(as_of=today, customer=cust_a, status="regular", abc="C")
    program = tiered_program(gift_a="Hamper", gift_b="Mug", gift_c="Thank-you note")
    # issued a year ago (the first tier change is old news), its anniversary is in three days
    issued = today - timedelta(days=362)
    card = services.card_issue(program=program, holder=cust_a, issued_on=issued)
    services.card_floor_set(card=card, floor_tier=program.tiers.get(name="Gold"))  # a change today
    assert mgr_a.has_perm("loyalty.view_card")  # the permissions read, as on every page
    with CaptureQueriesContext(connection) as queries:
        rows = panels.agenda_rows(viewer=mgr_a, owner=mgr_a, today=today)
    assert len(queries) == 2  # tier changes, gifts: the rows' columns fetched with them, none deferred
    assert sorted(row.slug for row in rows) == ["loyalty-gift", "loyalty-tier-change"]
    gift = next(row for row in rows if row.slug == "loyalty-gift")
    assert gift.text.startswith("Thank-you note (class C") and gift.date > today
    change = next(row for row in rows if row.slug == "loyalty-tier-change")
    assert "Silver → Gold" in change.text
    assert panels.agenda_rows(viewer=mgr_b, owner=mgr_a, today=today) == []


@pytest.mark.parametrize("today", [date(2027, 2, 24), date(2028, 2, 24), date(2026, 12, 28), date(2026, 6, 10)])
def test_gifts_due_narrowed_in_sql_are_exactly_the_anniversary_rule(cust_a, mgr_a, today):
    # Issue 15: the cards are narrowed to issue days whose anniversary can fall in the week
    # (29 February's falls on 1 March in other years) before the rule picks them: the same
    # rows as the rule applied to every active card of the owner.
    from segmentation.models import CustomerSnapshot, RecomputeRun

    RecomputeRun.objects.create(as_of=date(2020, 1, 1), status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.create(as_of=date(2020, 1, 1), customer=cust_a, status="regular", abc="B")
    program = tiered_program(gift_a="Hamper", gift_b="Mug", gift_c="Thank-you note")
    issued = {today - timedelta(days=offset) for offset in range(-3, 800, 1)} | {date(2024, 2, 29), date(2020, 2, 29)}
    cards = [
        Card(number=f"G{n:05d}", program=program, holder=cust_a, issued_on=day, status=Card.Status.ACTIVE)
        for n, day in enumerate(sorted(issued))
    ]
    Card.objects.bulk_create(cards)
    expected = sorted(
        (panels._next_anniversary(card.issued_on, today), card.number)
        for card in cards
        if (anniversary := panels._next_anniversary(card.issued_on, today)) <= today + timedelta(days=panels.GIFT_DAYS)
        and anniversary.year > card.issued_on.year
    )
    rows = [row for row in panels.agenda_rows(viewer=mgr_a, owner=mgr_a, today=today) if row.slug == "loyalty-gift"]
    assert sorted(row.date for row in rows) == [day for day, _ in expected]
    assert {row.text for row in rows} == {"Mug (class B, card anniversary)"}
    assert len(expected) >= 3


def test_announcing_a_tier_change_takes_it_off_the_agenda(cust_a, mgr_a, client_for):
    card = services.card_issue(program=tiered_program(), holder=cust_a)
    change = TierChange.objects.get(card=card)
    client_for(mgr_a).post(reverse("loyalty:tier_change_announced", args=[change.pk]))
    change.refresh_from_db()
    assert change.announced_on == business_today()
    assert panels.agenda_rows(viewer=mgr_a, owner=mgr_a, today=business_today()) == []


def test_the_dashboard_widget_renders(dir_1, rf):
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = dir_1
    widget = next(fn for fn in hooks.get_hooks(hooks.DASHBOARD_WIDGETS) if fn is panels.dashboard_widget)(
        request, date(2026, 1, 1), date(2026, 3, 31)
    )
    html = render_to_string(widget.template, widget.context)
    assert "Points liability" in html and "Loyalty index" in html


def test_export_loyalty_writes_the_columns_asked_for(cust_a, tmp_path):
    from django.core.management import call_command

    card = services.card_issue(program=tiered_program(), holder=cust_a)
    bearer = services.card_issue(program=Program.objects.create(name="Walk-in", kind=Program.Kind.BEARER))
    services.card_status_set(card=bearer, status=Card.Status.BLOCKED)
    out = tmp_path / "cards.csv"
    call_command("export_loyalty", str(out), stdout=io.StringIO())
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows[0] == ["card", "customer", "program", "tier", "status", "balance"]
    assert sorted(rows[1:]) == sorted(
        [
            [card.number, cust_a.external_ref, "Tiers", "Silver", "active", "0"],
            [bearer.number, "", "Walk-in", "", "blocked", "0"],
        ]
    )


def test_loyalty_redeem_exits_0_when_redeemed_and_nonzero_with_the_reason(cust_a):
    from django.core.management import CommandError, call_command

    card = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=card, points=50, reason="Welcome")
    out = io.StringIO()
    call_command("loyalty_redeem", card.number, "30", "--reason", "phone order", stdout=out)
    assert "30 points" in out.getvalue()
    with pytest.raises(CommandError, match="has 20 points; 21 asked"):
        call_command("loyalty_redeem", card.number, "21", "--reason", "phone order")
    with pytest.raises(CommandError, match="No card"):
        call_command("loyalty_redeem", "123", "1", "--reason", "x")
    card.refresh_from_db()
    assert card.balance == 20
    assert card.entries.get(kind="redemption").reason == "phone order"


def test_check_loyalty_names_the_cards_that_drifted(cust_a):
    from django.core.management import CommandError, call_command

    card = services.card_issue(program=points_program(), holder=cust_a)
    services.points_adjust(card=card, points=50, reason="Welcome")
    call_command("check_loyalty", stdout=io.StringIO())
    Card.objects.filter(pk=card.pk).update(balance=49)
    with pytest.raises(CommandError, match=f"card {card.number}: cached 49, ledger 50"):
        call_command("check_loyalty")


def test_the_commands_exit_codes_from_a_shell(cust_a, tmp_path):
    """The exit status scripts see (CommandError -> 1), through manage.py's own entry."""
    from django.core.management import execute_from_command_line

    card = services.card_issue(program=points_program(), holder=cust_a)
    with pytest.raises(SystemExit) as refused:
        execute_from_command_line(["manage.py", "loyalty_redeem", card.number, "5", "--reason", "x"])
    assert refused.value.code == 1


def test_the_measures_page_reads_the_classification_settings_once(mgr_a, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from segmentation.models import ClassificationSettings

    ClassificationSettings.current()  # saved settings, as on any running site
    client = client_for(mgr_a)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("loyalty:measures")).status_code == 200
    reads = [q for q in queries.captured_queries if "segmentation_classificationsettings" in q["sql"]]
    assert len(reads) == 1


def test_tier_changes_are_read_only_in_admin(cust_a, admin_user, client_for):
    services.card_issue(program=tiered_program(), holder=cust_a)
    change = TierChange.objects.get()
    client = client_for(admin_user)
    assert client.get(reverse("admin:loyalty_tierchange_changelist")).status_code == 200
    assert client.get(reverse("admin:loyalty_tierchange_add")).status_code == 403
    page = client.get(reverse("admin:loyalty_tierchange_change", args=[change.pk]))
    assert page.status_code == 200 and 'name="reason"' not in page.content.decode()  # shown, not editable
    client.post(reverse("admin:loyalty_tierchange_change", args=[change.pk]), {"reason": "Edited by hand"})
    assert client.post(reverse("admin:loyalty_tierchange_delete", args=[change.pk]), {"post": "yes"}).status_code == 403
    change.refresh_from_db()
    assert change.reason != "Edited by hand" and TierChange.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "fields", "amount", "discount", "stated"),
    [
        (Program.Kind.BEARER, {"discount_percent": 3}, "200.00", "6.00", "Walk-in: 3"),
        (Program.Kind.PERSONAL, {"discount_percent": 5}, "200.00", "10.00", "Walk-in: 5"),
        (Program.Kind.VIP, {"discount_percent": 12, "vip_personal_manager": True}, "200.00", "24.00", "Walk-in: 12"),
        (Program.Kind.SCALE, {}, "1500.00", "75.00", "Walk-in"),
        (Program.Kind.TIERED, {}, "200.00", "6.00", "Silver: 3"),
        (Program.Kind.POINTS, {"earn_rate": 1}, "200.00", "0.00", None),  # points, no discount
    ],
)
def test_each_program_kind_gives_its_discount_at_the_point_of_sale(
    kind, fields, amount, discount, stated, cust_a, mgr_a, client_for
):
    from loyalty.models import Tier

    program = Program.objects.create(name="Walk-in", kind=kind, **fields)
    if kind == Program.Kind.SCALE:
        ScaleBracket.objects.create(program=program, min_amount=Decimal("0"), discount_percent=Decimal("2"))
        ScaleBracket.objects.create(program=program, min_amount=Decimal("1000"), discount_percent=Decimal("5"))
    if kind == Program.Kind.TIERED:
        Tier.objects.create(program=program, name="Silver", rank=1, discount_percent=Decimal("3"))
    card = services.card_issue(program=program, holder=cust_a)
    response = client_for(mgr_a).get(reverse("loyalty:pos"), {"q": card.number, "amount": amount})
    choice = response.context["choice"]
    assert choice.discount == Decimal(discount)
    if stated is None:
        assert choice.rule is None
    else:
        assert stated in choice.rule.label and choice.rule.label in response.content.decode()


def test_the_program_and_tier_filters_offer_every_program_and_tier_without_building_them(mgr_a, client_for):
    """The card list's program and tier options read as values through compiled statements
    (loyalty.filters): the same <select>s as the model choice filters gave (programs by name,
    tiers by program and rank, labelled by name), no Program or Tier object built for them."""
    from django.db.models.signals import post_init

    from loyalty.models import Tier

    points, tiers = points_program(name="Zeta points"), tiered_program(name="Alpha tiers")
    make_cards(2, mgr_a, points)  # no card with a tier: the rows build no Tier
    built = []

    def count(sender, **kwargs):
        built.append(sender)

    client = client_for(mgr_a)
    post_init.connect(count, sender=Tier)
    try:
        html = client.get(reverse("loyalty:card_list")).content.decode()
    finally:
        post_init.disconnect(count, sender=Tier)
    assert built == []

    def options(name):
        select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
        return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)

    assert options("program") == [("", "Any program"), (str(tiers.pk), "Alpha tiers"), (str(points.pk), "Zeta points")]
    by_rank = Tier.objects.filter(program=tiers).order_by("rank")
    assert options("tier") == [("", "Any tier"), *((str(tier.pk), tier.name) for tier in by_rank)]
    assert [name for _, name in options("tier")[1:]] == ["Silver", "Gold", "Platinum"]
    # a chosen program or tier still filters, and a key that is none is refused (no rows)
    page = client.get(reverse("loyalty:card_list"), {"program": tiers.pk}).content.decode()
    assert "0 found" in page
    page = client.get(reverse("loyalty:card_list"), {"tier": by_rank[0].pk}).content.decode()
    assert "0 found" in page
    page = client.get(reverse("loyalty:card_list"), {"program": points.pk}).content.decode()
    assert "2 found" in page
    response = client.get(reverse("loyalty:card_list"), {"program": 999999})
    assert not response.context["filter"].is_valid()
