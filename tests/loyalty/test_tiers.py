"""Tiers from the customer's class and net revenue over the window, with grace and floor."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty import services
from loyalty.models import Card, TierChange
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory, SettlementLineFactory

from .helpers import tiered_program

pytestmark = pytest.mark.django_db
D = date(2026, 6, 30)


def classify(as_of: date, **classes) -> None:
    """A finished recompute as of `as_of` with the given customer -> ABC class."""
    RecomputeRun.objects.create(as_of=as_of, status=RecomputeRun.Status.DONE)
    for customer, abc in classes.values():
        CustomerSnapshot.objects.create(as_of=as_of, customer=customer, status="regular", abc=abc)


def tier_of(card) -> str:
    return Card.objects.select_related("tier").get(pk=card.pk).tier.name


@pytest.fixture
def program():
    return tiered_program()


def test_a_new_card_starts_at_the_tier_its_class_gives(program):
    customer = CustomerFactory()
    classify(D, a=(customer, "A"))
    card = services.card_issue(program=program, holder=customer, issued_on=D)
    assert tier_of(card) == "Platinum"
    change = card.tier_changes.get()
    assert (change.old_tier, change.new_tier.name, change.reason) == (None, "Platinum", "Card issued")


def test_revenue_over_the_window_counts_and_older_revenue_does_not(program):
    customer = CustomerFactory()
    classify(D, c=(customer, "C"))
    # Window of 12 months ending D: (30 Jun 2025, 30 Jun 2026]
    SettlementLineFactory(customer=customer, date=date(2025, 6, 30), amount=Decimal("40000"))  # outside
    SettlementLineFactory(customer=customer, date=date(2025, 7, 1), amount=Decimal("9000"))
    SettlementLineFactory(customer=customer, date=date(2026, 6, 30), amount=Decimal("1000"))
    card = services.card_issue(program=program, holder=customer, issued_on=D)
    assert tier_of(card) == "Gold"  # 10,000 in the window reaches Gold's 10,000, not Platinum


def test_a_downgrade_waits_for_the_grace_period_and_is_recorded(program):
    customer = CustomerFactory()
    classify(D, a=(customer, "A"))
    card = services.card_issue(program=program, holder=customer, issued_on=D)
    later = D + timedelta(days=1)
    classify(later, a=(customer, "C"))  # the customer fell to C
    assert services.tiers_evaluate(today=later) == 0
    card.refresh_from_db()
    assert (tier_of(card), card.below_since) == ("Platinum", later)
    assert services.tiers_evaluate(today=later + timedelta(days=29)) == 0  # grace is 30 days
    assert services.tiers_evaluate(today=later + timedelta(days=30)) == 1
    assert tier_of(card) == "Silver"
    change = TierChange.objects.filter(card=card).first()
    assert (change.old_tier.name, change.new_tier.name, change.date) == (
        "Platinum",
        "Silver",
        later + timedelta(days=30),
    )
    assert change.reason == "Qualified lower for the whole grace period"


def test_the_manual_floor_raises_at_once_and_holds(program):
    customer = CustomerFactory()
    classify(D, c=(customer, "C"))
    card = services.card_issue(program=program, holder=customer, issued_on=D)
    assert tier_of(card) == "Silver"
    gold = program.tiers.get(name="Gold")
    services.card_floor_set(card=card, floor_tier=gold, today=D)
    assert tier_of(card) == "Gold"
    assert services.tiers_evaluate(today=D + timedelta(days=400)) == 0
    assert tier_of(card) == "Gold"
    assert list(card.tier_changes.values_list("new_tier__name", flat=True)) == ["Gold", "Silver"]
