"""Which tier a card holds: qualification from the customer's ABC class and net revenue
over the program's window, a manual floor, and a grace period before any downgrade. Pure."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

CLASS_ORDER = {"A": 3, "B": 2, "C": 1, "": 0}


@dataclass(frozen=True)
class TierRule:
    """A tier is reached with class `min_class` or better, or with `min_revenue` or more
    over the window (either suffices; a tier with neither is the entry tier)."""

    rank: int
    min_class: str = ""
    min_revenue: Decimal | None = None

    def reached(self, abc: str, revenue: Decimal) -> bool:
        if not self.min_class and self.min_revenue is None:
            return True
        by_class = bool(self.min_class) and CLASS_ORDER.get(abc or "", 0) >= CLASS_ORDER[self.min_class]
        by_revenue = self.min_revenue is not None and revenue >= self.min_revenue
        return by_class or by_revenue


def qualified_rank(rules: list[TierRule], *, abc: str, revenue: Decimal) -> int | None:
    """The highest rank the customer reaches, None when no tier (not even an entry tier)."""
    reached = [rule.rank for rule in rules if rule.reached(abc, revenue)]
    return max(reached) if reached else None


@dataclass(frozen=True)
class Decision:
    rank: int | None
    below_since: date | None  # the day a lower qualification was first seen (grace running)
    reason: str  # "" when the tier stays


def decide(
    *,
    current: int | None,
    qualified: int | None,
    floor: int | None,
    below_since: date | None,
    today: date,
    grace_days: int,
) -> Decision:
    """Upgrades take effect at once; a downgrade only once the customer has qualified
    lower for `grace_days`; the manual floor is never undercut."""
    target = max((r for r in (qualified, floor) if r is not None), default=None)
    if current is None:
        return Decision(target, None, "first evaluation" if target is not None else "")
    if target is not None and target > current:
        reason = "manual floor" if floor is not None and target == floor and (qualified or 0) < floor else "qualified"
        return Decision(target, None, reason)
    if target == current:
        return Decision(current, None, "")
    # target below current (or no tier at all): wait out the grace period
    since = below_since or today
    if (today - since).days >= grace_days:
        return Decision(target, None, "grace period over")
    return Decision(current, since, "")
