"""Which discount applies to a purchase: every rule the card offers is priced on the
amount and the one that saves the customer most wins, stated with its reason. Pure."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Rule:
    """One way a card lowers a price: `percent` off from `min_amount` on."""

    label: str
    percent: Decimal
    min_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class Choice:
    rule: Rule | None
    amount: Decimal
    discount: Decimal

    @property
    def to_pay(self) -> Decimal:
        return self.amount - self.discount


def discount_of(amount: Decimal, percent: Decimal) -> Decimal:
    """`percent` of `amount` in whole cents, half up."""
    return (amount * percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def scale_rules(brackets: list[tuple[Decimal, Decimal]], label: str) -> list[Rule]:
    """A progressive scale (from amount -> percent) as rules: each bracket applies from its
    amount on, so the best rule for an amount is the highest bracket it reaches."""
    return [
        Rule(
            _("%(program)s: %(percent)s%% from %(amount)s")
            % {"program": label, "percent": percent, "amount": threshold},
            Decimal(percent),
            Decimal(threshold),
        )
        for threshold, percent in brackets
    ]


def best_discount(amount: Decimal, rules: list[Rule]) -> Choice:
    """The applicable rule (amount >= its minimum) with the largest discount; on a tie the
    earlier rule. No rule applies: no discount."""
    amount = Decimal(amount)
    best: Choice = Choice(None, amount, Decimal("0.00"))
    for rule in rules:
        if amount < rule.min_amount or rule.percent <= 0:
            continue
        discount = discount_of(amount, rule.percent)
        if discount > best.discount:
            best = Choice(rule, amount, discount)
    return best
