"""Deadlines in working days (no Django): weekends and the admin-set non-working days
do not count."""

from collections.abc import Collection
from datetime import date, timedelta

# Working days allowed per step when an administrator has set none, by severity.
# A critical complaint is worked faster than a low one.
DEFAULT_DAYS: dict[str, dict[str, int]] = {
    "critical": {"registered": 1, "investigating": 2, "cause_eliminated": 3, "process_fixed": 10},
    "high": {"registered": 1, "investigating": 3, "cause_eliminated": 5, "process_fixed": 15},
    "medium": {"registered": 2, "investigating": 5, "cause_eliminated": 10, "process_fixed": 20},
    "low": {"registered": 3, "investigating": 10, "cause_eliminated": 15, "process_fixed": 30},
}


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays: Collection[date] = ()) -> date:
    """The date `days` working days after `start` (start itself not counted; 0 days: the
    first working day on or after start). Friday + 1 = Monday; a holiday is skipped."""
    day = start
    if days <= 0:
        while not is_working_day(day, holidays):
            day += timedelta(days=1)
        return day
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            remaining -= 1
    return day


def working_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            count += 1
    return count
