"""Report periods: presets, the previous period, the period form."""

from datetime import date

import pytest

from reporting.forms import PeriodForm
from reporting.periods import preset, previous

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    "key,expected",
    [
        ("this_month", (date(2026, 12, 1), TODAY)),  # ends today, never later
        ("last_month", (date(2026, 11, 1), date(2026, 11, 30))),
        ("this_quarter", (date(2026, 10, 1), TODAY)),
        ("last_quarter", (date(2026, 7, 1), date(2026, 9, 30))),
        ("this_year", (date(2026, 1, 1), TODAY)),
        ("last_year", (date(2025, 1, 1), date(2025, 12, 31))),
        ("last_week", (date(2026, 11, 23), date(2026, 11, 29))),  # 2 Dec 2026 is a Wednesday
    ],
)
def test_presets(key, expected):
    assert preset(key, TODAY) == expected


@pytest.mark.parametrize(
    "period,expected",
    [
        ((date(2026, 7, 1), date(2026, 9, 30)), (date(2026, 4, 1), date(2026, 6, 30))),
        ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28))),  # month ends clip
        ((date(2026, 12, 1), date(2026, 12, 2)), (date(2026, 11, 1), date(2026, 11, 2))),
        ((date(2026, 1, 1), date(2026, 12, 31)), (date(2025, 1, 1), date(2025, 12, 31))),
        ((date(2026, 3, 10), date(2026, 3, 19)), (date(2026, 2, 28), date(2026, 3, 9))),  # ten days before
    ],
)
def test_the_previous_period(period, expected):
    assert previous(*period) == expected


def test_dates_win_over_a_preset_and_are_checked(db):
    form = PeriodForm({"preset": "last_month", "start": "2024-04-01", "end": "2024-06-30"})
    assert form.is_valid()
    assert (form.cleaned_data["start"], form.cleaned_data["end"]) == (date(2024, 4, 1), date(2024, 6, 30))
    bad = PeriodForm({"start": "2024-06-30", "end": "2024-04-01"})
    assert not bad.is_valid() and "end" in bad.errors
    future = PeriodForm({"start": "2024-06-30", "end": "2999-01-01"})
    assert not future.is_valid() and "end" in future.errors
    half = PeriodForm({"start": "2024-06-30"})
    assert not half.is_valid()
