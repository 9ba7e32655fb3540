"""The server-drawn charts' category labels: whole where they fit, never over each other."""

import re

from crm_project import charts

PLOT_W = 640 - 48 - 8


def _label_lines(svg: str) -> list[list[str]]:
    """Each level category label's lines, in order (the legend's texts have no tspan)."""
    texts = re.findall(r"<text[^>]*>.*?</text>", svg)
    return [lines for lines in (re.findall(r"<tspan[^>]*>([^<]*)</tspan>", t) for t in texts) if lines]


def _slanted(svg: str) -> list[str]:
    return re.findall(r'<text[^>]*transform="rotate\(-35[^>]*>(?:<title>[^<]*</title>)?([^<]*)</text>', svg)


def _viewbox_height(svg: str) -> float:
    return float(re.search(r'viewBox="0 0 \d+ ([\d.]+)"', svg).group(1))


def test_short_labels_stay_whole_on_one_line():
    svg = charts.bar_chart(["Won", "Lost"], [("Deals", [3, 4])])
    assert _label_lines(svg) == [["Won"], ["Lost"]]
    assert _viewbox_height(svg) == 220
    assert "<title>Won</title>" not in svg


def test_labels_too_wide_for_one_line_wrap_between_words():
    stages = ["Presentation", "Commercial offer", "Agreement", "Payment", "Delivery / event", "Closing + follow-up"]
    svg = charts.bar_chart(stages, [("Deals", [5, 4, 3, 2, 1, 0])])
    most = int((PLOT_W / 6 - 4) // charts.CHAR_WIDTH)
    lines = _label_lines(svg)
    assert [" ".join(label) for label in lines] == stages  # nothing lost, words whole
    assert all(len(line) <= most for label in lines for line in label)
    assert ["Commercial", "offer"] in lines
    assert _viewbox_height(svg) == 220 + charts.LINE_HEIGHT  # a line taller, the plot kept


def test_many_long_labels_are_slanted_and_the_whole_text_kept_as_tooltip():
    figures = ["Potential", "Primary: customers", "New direction: customers", "A very long figure name indeed"] * 3
    svg = charts.bar_chart(figures, [("Previous", [1] * 12), ("This period", [2] * 12)])
    shown = _slanted(svg)
    assert len(shown) == 12 and not _label_lines(svg)
    assert shown[:3] == ["Potential", "Primary: customers", "New direction: customers"]
    assert shown[3] == "A very long figure name…" and len(shown[3]) == charts.LONGEST_LABEL
    assert "<title>A very long figure name indeed</title>" in svg
    assert _viewbox_height(svg) > 220 + charts.LINE_HEIGHT
    # the first label, falling to the left of its tick, stays inside the picture
    first_x = float(re.search(r'<text x="([\d.]+)"[^>]*transform', svg).group(1))
    assert first_x - len(shown[0]) * charts.CHAR_WIDTH * 0.82 >= 0


def test_line_chart_labels_every_kth_date_whole():
    days = [f"2026-01-{day:02d}" for day in range(1, 31)]
    svg = charts.line_chart(days, [("Revenue", list(range(30)))])
    shown = [lines[0] for lines in _label_lines(svg)]
    assert shown[0] == "2026-01-01"
    assert all(day in days for day in shown)  # whole dates, none cut short
    assert 2 <= len(shown) < len(days)
    every = days.index(shown[1])
    assert every * PLOT_W / 29 >= len("2026-01-01") * charts.CHAR_WIDTH  # labels do not overlap


def test_labels_are_escaped():
    svg = charts.bar_chart(["<b>x</b> & a very long category name indeed"] * 10, [("s", [1] * 10)])
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_labels_are_escaped_as_django_escapes_them(monkeypatch):
    """charts.escape (html.escape of the text, issue 15) writes the charts Django's escape wrote."""
    from django.utils import html as django_html
    from django.utils.translation import gettext_lazy

    labels = ["<b>x</b> & \"q\" 'a'", gettext_lazy("Product"), 12, "a very long category name indeed " * 2]
    drawn = [
        charts.bar_chart([str(label) for label in labels], [("s & <t>", [1, 2, 3, 4])], label="<chart>"),
        charts.bar_chart(["a", "b"], [("one", [1, 2]), (gettext_lazy("Average"), [2, 1])], stacked=True),
        charts.line_chart(["<q1>", "q2"], [("x'y", [1.5, 2])], label=gettext_lazy("Average")),
        charts.sparkline([1, 2, 3], label="<s>"),
    ]
    assert all(charts.escape(label) == django_html.escape(label) for label in labels)
    monkeypatch.setattr(charts, "escape", django_html.escape)
    assert drawn == [
        charts.bar_chart([str(label) for label in labels], [("s & <t>", [1, 2, 3, 4])], label="<chart>"),
        charts.bar_chart(["a", "b"], [("one", [1, 2]), (gettext_lazy("Average"), [2, 1])], stacked=True),
        charts.line_chart(["<q1>", "q2"], [("x'y", [1.5, 2])], label=gettext_lazy("Average")),
        charts.sparkline([1, 2, 3], label="<s>"),
    ]
