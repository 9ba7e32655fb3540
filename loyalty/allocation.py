"""Spending points: the soonest-expiring points go first (points that never expire go
last, then the oldest first). Pure: lots in, what each lot gives out."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Lot:
    id: int
    remaining: int
    expires_on: date | None


class NotEnoughPoints(ValueError):
    pass


def fifo_order(lots: list[Lot]) -> list[Lot]:
    return sorted(lots, key=lambda lot: (lot.expires_on is None, lot.expires_on or date.max, lot.id))


def allocate(points: int, lots: list[Lot]) -> dict[int, int]:
    """{lot id: points taken} spending `points` soonest-expiring first. Raises
    NotEnoughPoints when the lots hold fewer than `points`."""
    if points <= 0:
        raise ValueError("Spend a positive number of points.")
    taken: dict[int, int] = {}
    left = points
    for lot in fifo_order(lots):
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken[lot.id] = take
            left -= take
    if left:
        raise NotEnoughPoints(f"Only {points - left} points are available.")
    return taken
