"""Report periods: the presets (this/last week, month, quarter, year), the period before
a period (the dashboard's deltas) and the KPI labels people read. Pure: no database."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from crm_project.dates import months_before

PRESETS = {
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_quarter": _("This quarter"),
    "last_quarter": _("Last quarter"),
    "this_year": _("This year"),
    "last_year": _("Last year"),
}

KPI_LABELS = {
    "potential": _("Potential"),
    "primary": _("Primary sales"),
    "repeat": _("Repeat sales"),
    "new_direction": _("New-direction sales"),
    "created": _("Created"),
    "converted": _("Converted"),
    "regular": _("Regular"),
    "new": _("New"),
    "restored": _("Restored"),
    "lost": _("Lost"),
    "class_changes": _("Class changes"),
}


def _month_end(day: date) -> date:
    return months_before(day.replace(day=1), -1) - timedelta(days=1)


def preset(key: str, today: date) -> tuple[date, date]:
    """[S, E] of a preset; the current month, quarter or year ends today (never later:
    the classes of a future day do not exist yet)."""
    first_of_month = today.replace(day=1)
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    if key == "this_month":
        return first_of_month, today
    if key == "last_month":
        start = months_before(first_of_month, 1)
        return start, first_of_month - timedelta(days=1)
    if key == "this_quarter":
        return quarter_start, today
    if key == "last_quarter":
        return months_before(quarter_start, 3), quarter_start - timedelta(days=1)
    if key == "this_year":
        return date(today.year, 1, 1), today
    if key == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    if key == "last_week":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    raise KeyError(key)


def previous(start: date, end: date) -> tuple[date, date]:
    """The comparable period before [S, E]: the same months earlier when S is the first
    of a month (Q3 -> Q2, 1-15 March -> 1-15 February), otherwise the same number of
    days just before S."""
    if start.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        prev_end = months_before(end, months)
        if end == _month_end(end):
            prev_end = _month_end(prev_end)
        return months_before(start, months), prev_end
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)
