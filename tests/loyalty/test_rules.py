"""The pure rules: Luhn, discount choice per program kind, FIFO allocation, tier decision."""

from datetime import date
from decimal import Decimal as D

import pytest

from loyalty import allocation, discounts, luhn, tiering


def test_luhn_check_digit_of_the_textbook_number():
    assert luhn.check_digit("7992739871") == "3"
    assert luhn.is_valid("79927398713")
    assert not luhn.is_valid("79927398714")  # wrong check digit
    assert not luhn.is_valid("79927398731")  # two neighbours swapped


def test_card_numbers_carry_prefix_sequence_and_check_digit():
    assert luhn.card_number("7", 42) == "700000000427"
    assert luhn.is_valid(luhn.card_number("55", 123456))


def test_flat_and_fixed_discounts_round_half_up_to_the_cent():
    rule = discounts.Rule("Bearer 5%", D("5"))
    choice = discounts.best_discount(D("99.90"), [rule])
    assert choice.discount == D("5.00")  # 4.995 -> 5.00
    assert choice.to_pay == D("94.90")
    assert choice.rule is rule


def test_progressive_scale_takes_the_highest_bracket_reached():
    rules = discounts.scale_rules([(D("0"), D("2")), (D("1000"), D("5")), (D("5000"), D("10"))], "Scale")
    assert discounts.best_discount(D("999.99"), rules).discount == D("20.00")
    assert discounts.best_discount(D("1000"), rules).discount == D("50.00")
    assert discounts.best_discount(D("7000"), rules).discount == D("700.00")


def test_the_best_rule_wins_and_no_rule_means_no_discount():
    tier = discounts.Rule("Gold tier", D("7"))
    personal = discounts.Rule("Personal card", D("5"))
    scale = discounts.Rule("Scale from 2000", D("10"), D("2000"))
    assert discounts.best_discount(D("1000"), [personal, tier, scale]).rule is tier
    assert discounts.best_discount(D("2500"), [personal, tier, scale]).rule is scale
    none = discounts.best_discount(D("100"), [])
    assert none.rule is None and none.discount == 0


def test_fifo_spends_the_soonest_expiring_first_and_never_expiring_last():
    lots = [
        allocation.Lot(1, 50, None),
        allocation.Lot(2, 30, date(2026, 6, 1)),
        allocation.Lot(3, 40, date(2026, 3, 1)),
    ]
    assert allocation.allocate(60, lots) == {3: 40, 2: 20}
    assert allocation.allocate(100, lots) == {3: 40, 2: 30, 1: 30}
    with pytest.raises(allocation.NotEnoughPoints):
        allocation.allocate(121, lots)


RULES = [
    tiering.TierRule(1),
    tiering.TierRule(2, min_class="B", min_revenue=D("10000")),
    tiering.TierRule(3, min_class="A", min_revenue=D("50000")),
]


@pytest.mark.parametrize(
    "abc,revenue,rank",
    [
        ("", D("0"), 1),
        ("C", D("9999.99"), 1),
        ("B", D("0"), 2),
        ("C", D("10000"), 2),
        ("A", D("0"), 3),
        ("", D("50000"), 3),
    ],
)
def test_qualification_by_class_or_revenue(abc, revenue, rank):
    assert tiering.qualified_rank(RULES, abc=abc, revenue=revenue) == rank


def test_upgrade_is_immediate_downgrade_waits_for_the_grace_period():
    today = date(2026, 5, 1)
    up = tiering.decide(current=1, qualified=3, floor=None, below_since=None, today=today, grace_days=90)
    assert (up.rank, up.below_since, up.reason) == (3, None, "qualified")
    first_seen = tiering.decide(current=3, qualified=1, floor=None, below_since=None, today=today, grace_days=90)
    assert (first_seen.rank, first_seen.below_since) == (3, today)
    day_89 = tiering.decide(
        current=3, qualified=1, floor=None, below_since=date(2026, 2, 2), today=today, grace_days=90
    )
    assert day_89.rank == 3
    day_90 = tiering.decide(
        current=3, qualified=2, floor=None, below_since=date(2026, 1, 31), today=today, grace_days=90
    )
    assert (day_90.rank, day_90.below_since, day_90.reason) == (2, None, "grace period over")


def test_qualifying_again_during_grace_stops_the_clock():
    back = tiering.decide(
        current=3, qualified=3, floor=None, below_since=date(2026, 3, 1), today=date(2026, 4, 1), grace_days=90
    )
    assert (back.rank, back.below_since) == (3, None)


def test_the_manual_floor_is_never_undercut():
    raised = tiering.decide(current=1, qualified=1, floor=2, below_since=None, today=date(2026, 1, 1), grace_days=0)
    assert (raised.rank, raised.reason) == (2, "manual floor")
    held = tiering.decide(
        current=3, qualified=1, floor=2, below_since=date(2025, 1, 1), today=date(2026, 1, 1), grace_days=30
    )
    assert held.rank == 2
