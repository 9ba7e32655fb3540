"""The statistics page's table bodies written in Python give the template loops' markup
character for character (complaints.templatetags.complaint_stats, issue 15)."""

import pandas as pd
import pytest
from django.template import Context, Template
from django.utils import translation

from complaints import statistics as stats
from complaints.templatetags.complaint_stats import composition_rows, satisfaction_rows

# The loops as statistics.html had them (the line break and indent part of every row).
OLD_COMPOSITION = Template(
    "{% load i18n %}"
    '{% for row in frame.itertuples %}<tr><td>{{ row.label }}</td><td class="text-end">{{ row.count }}</td>'
    '<td class="text-end">{% widthratio row.share 1 100 %}</td></tr>\n'
    '          {% empty %}<tr><td colspan="3" class="text-muted">{% translate "No complaints in this period." %}'
    "</td></tr>{% endfor %}"
)
OLD_SATISFACTION = Template(
    "{% load i18n %}"
    '{% for row in frame.itertuples %}<tr><td class="text-wrap">{{ row.label }}</td><td class="text-end">'
    '{{ row.responses }}</td><td class="text-end">{{ row.average|floatformat:2 }}</td><td class="text-end">'
    "{% widthratio row.low_share 1 100 %} %</td></tr>\n"
    '          {% empty %}<tr><td colspan="4" class="text-muted">{% translate "No answers in this period." %}'
    "</td></tr>{% endfor %}"
)


def old(loop, frame) -> str:
    return loop.render(Context({"frame": frame}))


LABELS = [
    [],
    ["Shrink film roll"],
    # escaping, blanks shown as a dash, ties sorted by label, shares rounding half to even
    ["<b>Fish & Chips</b>", "—", "O'Neil \"quoted\"", "a", "b", "b", "c", "c", "c", None, ""],
    [f"Product {n % 37}" for n in range(1, 1001)] + ["x"] * 5 + ["y"] * 15,
    ["one"] * 1 + ["two"] * 199,  # 0.5 % and 99.5 %
    ["one"] * 1 + ["two"] * 7,  # 12.5 % and 87.5 %
]


@pytest.mark.parametrize("labels", LABELS)
def test_the_composition_rows_are_the_template_loops(labels):
    frame = stats.composition(pd.DataFrame({"product": labels}), "product")
    assert str(composition_rows(frame)) == old(OLD_COMPOSITION, frame)


def test_large_counts_are_localized_as_the_template_did(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    frame = stats.composition(pd.DataFrame({"product": ["big"] * 1234 + ["small"]}), "product")
    assert str(composition_rows(frame)) == old(OLD_COMPOSITION, frame)
    assert '<td class="text-end">1,234</td>' in str(composition_rows(frame))


@pytest.mark.parametrize("labels", LABELS)
def test_the_satisfaction_rows_are_the_template_loops(labels):
    answers = pd.DataFrame({
        "response_id": [n // 3 for n in range(len(labels))],
        "score": [1 + (n * 7) % 5 for n in range(len(labels))],
        "product": labels,
    })
    frame = stats.satisfaction(answers, "product")
    assert str(satisfaction_rows(frame)) == old(OLD_SATISFACTION, frame)


def test_the_empty_tables_say_so_in_the_language_of_the_page():
    empty = stats.composition(pd.DataFrame({"product": []}), "product")
    no_answers = stats.satisfaction(pd.DataFrame({"response_id": [], "score": [], "product": []}), "product")
    for language in ("en-gb", "de", "fr"):
        with translation.override(language):
            assert str(composition_rows(empty)) == old(OLD_COMPOSITION, empty)
            assert str(satisfaction_rows(no_answers)) == old(OLD_SATISFACTION, no_answers)


def pandas_close_times(frame) -> dict:
    """statistics.close_times as it was, in pandas."""
    closed = frame.dropna(subset=["closed_on"]) if not frame.empty else frame
    if closed.empty:
        return {"count": 0, "mean": None, "median": None, "max": None}
    days = (pd.to_datetime(closed["closed_on"]) - pd.to_datetime(closed["registered_on"])).dt.days
    return {"count": int(days.count()), "mean": round(float(days.mean()), 1), "median": float(days.median()),
            "max": int(days.max())}


@pytest.mark.parametrize("size", [0, 1, 2, 3, 10, 11, 500])
def test_close_times_are_the_pandas_figures(size):
    import random
    from datetime import date, timedelta

    rng = random.Random(size)
    registered = [date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)) for _ in range(size)]
    closed = [day + timedelta(days=rng.randint(0, 90)) if rng.random() < 0.6 else None for day in registered]
    frame = pd.DataFrame({"registered_on": registered, "closed_on": closed})
    assert stats.close_times(frame) == pandas_close_times(frame)
    assert stats.close_times(frame.iloc[0:0]) == pandas_close_times(frame.iloc[0:0])
