"""Demo loyalty data (hooks.DEMO_SEEDERS, order 70, after the classes): four programs, cards
in every tier with their histories, points earned from the demo ledger, redeemed and
expired, and one finished retention campaign with results."""

import random
from datetime import timedelta
from decimal import Decimal

from django.test import override_settings

from crm_project.dates import months_before

from . import campaigns, services
from .models import (
    Campaign,
    CampaignMember,
    CampaignMessage,
    CampaignStep,
    Card,
    OptOut,
    PointsEntry,
    Program,
    ScaleBracket,
    Tier,
    TierChange,
)


def _programs() -> dict[str, Program]:
    bonus = Program.objects.create(
        name="Bonus club",
        kind=Program.Kind.POINTS,
        number_prefix="71",
        earn_rate=Decimal("0.05"),
        point_value=Decimal("0.10"),
        expiry_days=365,
        gift_a="Hamper and event tickets",
        gift_b="Branded hamper",
        gift_c="Thank-you card",
    )
    tiers = Program.objects.create(
        name="Partner tiers",
        kind=Program.Kind.TIERED,
        number_prefix="72",
        tier_window_months=12,
        tier_grace_days=90,
    )
    for rank, name, abc, revenue, percent in [
        (1, "Silver", "", None, "2"),
        (2, "Gold", "B", "20000", "4"),
        (3, "Platinum", "A", "60000", "7"),
    ]:
        Tier.objects.create(
            program=tiers,
            name=name,
            rank=rank,
            min_class=abc,
            min_revenue=Decimal(revenue) if revenue else None,
            discount_percent=Decimal(percent),
        )
    bearer = Program.objects.create(
        name="Walk-in card", kind=Program.Kind.BEARER, number_prefix="73", discount_percent=Decimal("3")
    )
    scale = Program.objects.create(name="Volume scale", kind=Program.Kind.SCALE, number_prefix="74")
    for amount, percent in [("0", "1"), ("5000", "3"), ("20000", "5")]:
        ScaleBracket.objects.create(program=scale, min_amount=Decimal(amount), discount_percent=Decimal(percent))
    Program.objects.create(
        name="VIP service",
        kind=Program.Kind.VIP,
        number_prefix="75",
        discount_percent=Decimal("5"),
        vip_conditions="Dedicated account manager, next-day delivery, priority support line.",
        vip_personal_manager=True,
        vip_priority_support=True,
        vip_free_delivery=True,
    )
    return {"bonus": bonus, "tiers": tiers, "bearer": bearer, "scale": scale}


def seed_demo_loyalty(demo) -> None:
    rng = random.Random(demo.seed + 70)
    today = demo.today
    programs = _programs()
    customers = list(demo.customers)
    rng.shuffle(customers)
    issued = today - timedelta(days=420)
    bonus_holders = customers[: len(customers) * 2 // 5]
    tier_holders = customers[len(customers) // 5 : len(customers) * 3 // 5]
    for customer in bonus_holders:
        services.card_issue(program=programs["bonus"], holder=customer, issued_on=issued)
    # Tiered cards first evaluated a year ago, then at each period end: upgrades and
    # downgrades after the grace period make the histories.
    tier_cards = [services.card_issue(program=programs["tiers"], holder=c, issued_on=issued) for c in tier_holders]
    for months in (9, 6, 3, 0):
        services.tiers_evaluate(today=months_before(today, months))
    tiers = list(programs["tiers"].tiers.order_by("rank"))
    for card in tier_cards[:3]:  # a manual floor: a key account kept at Gold whatever happens
        services.card_floor_set(card=card, floor_tier=tiers[1], today=today - timedelta(days=20))
    for tier in tiers:  # every tier has cards, whatever the demo ledger gave
        if not Card.objects.filter(tier=tier).exists() and tier_cards:
            services.card_floor_set(card=tier_cards.pop(), floor_tier=tier, today=today - timedelta(days=5))
    for _ in range(5):
        services.card_issue(program=programs["bearer"], issued_on=today - timedelta(days=rng.randint(1, 300)))
    for customer in customers[-6:]:
        services.card_issue(program=programs["scale"], holder=customer, issued_on=today - timedelta(days=100))
    result = services.points_accrue(end=today)
    services.points_expire(today=today)
    redeemed = 0
    for card in Card.objects.filter(program=programs["bonus"], balance__gt=50).order_by("pk")[::3]:
        services.points_redeem(
            card=card,
            points=rng.randint(10, card.balance // 2),
            reason="Demo purchase",
            today=today - timedelta(days=rng.randint(0, 30)),
        )
        redeemed += 1
    _campaign(today, rng)
    demo.say(
        f"Loyalty: {Card.objects.count()} cards, {result.accrued} accruals, {redeemed} redemptions, "
        f"{TierChange.objects.count()} tier changes, one finished campaign."
    )


def _campaign(today, rng) -> None:
    campaign = Campaign.objects.create(
        name="Win back lost A/B customers", statuses=["lost", "restored"], classes=["A", "B"], no_purchase_months=2
    )
    CampaignStep.objects.create(
        campaign=campaign,
        position=1,
        delay_days=0,
        subject="We miss you",
        body="Dear {{ customer }},\n\nit has been a while. See what is new for you: {{ link }}",
    )
    CampaignStep.objects.create(
        campaign=campaign,
        position=2,
        delay_days=14,
        subject="A gift on your next order",
        body="Dear {{ customer }},\n\nyour next order comes with a gift: {{ link }}",
    )
    start = today - timedelta(days=40)
    # Demo mail stays in memory: the console backend would print every message while seeding.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        campaigns.campaign_start(campaign=campaign, today=start)
        campaigns.campaigns_send_due(campaign_id=campaign.pk, today=start)
        campaigns.campaigns_send_due(campaign_id=campaign.pk, today=start + timedelta(days=14))
    messages = list(CampaignMessage.objects.filter(step__campaign=campaign, status="sent").values_list("pk", flat=True))
    for pk in rng.sample(messages, k=len(messages) // 4):
        campaigns.record_response(message_id=pk)


def reset_demo() -> None:
    """Loyalty data goes before the customers and lines it refers to (hooks.DEMO_RESETS)."""
    CampaignMessage.objects.all().delete()
    CampaignMember.objects.all().delete()
    Campaign.objects.all().delete()
    OptOut.objects.all().delete()
    TierChange.objects.all().delete()
    PointsEntry.objects.all().delete()
    Card.objects.all().delete()
    Tier.objects.all().delete()
    Program.objects.all().delete()
