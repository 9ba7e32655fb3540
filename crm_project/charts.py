"""Charts drawn on the server as inline SVG: no JavaScript, nothing from a CDN, and the
strict Content-Security-Policy is kept (presentation attributes only, no inline styles).

Each function returns safe markup; every label is escaped. A chart is always shown beside
the table of its numbers, so it carries no axis labels beyond the categories; each bar or
point has a <title> for a tooltip.
"""

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape as html_escape

from django.utils.safestring import SafeString, mark_safe

from .number_text import grouped, reader_format

# Colour-blind-safe palette (Okabe-Ito)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
Number = int | float | Decimal
# An average character's width and a line's height at the charts' 11px font, for fitting labels
CHAR_WIDTH = 6.2
LINE_HEIGHT = 12
# Category labels that do not fit level are slanted and cut at this length
ROTATION = 35
LONGEST_LABEL = 24


def escape(text) -> str:
    """django.utils.html.escape's text, without its lazy-string wrapper and SafeString: a
    chart of 700 products escaped some 2,000 labels (issue 15)."""
    return html_escape(str(text))


def _num(value) -> float:
    return float(value or 0)


def _fmt(value, number_format: tuple) -> str:
    """A chart's number: whole from 100 up, else two decimals; in the reader's format."""
    number = _num(value)
    return grouped(number, 0 if abs(number) >= 100 or number == int(number) else 2, number_format)


def bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    *,
    width: int = 640,
    height: int = 220,
    stacked: bool = False,
    label: str = "",
) -> SafeString:
    """Vertical bars, one group per category, one bar per series (or stacked)."""
    if not categories or not series:
        return mark_safe("")
    left, bottom, top = 48, 36, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    group_w = plot_w / len(categories)
    labels, extra, slanted = _category_labels(categories, group_w - 4)
    height, bottom = round(height + extra), round(bottom + extra)  # taller, the plot kept
    if slanted:
        # the first slanted labels reach left of the plot: the axis moves right for them
        slant = CHAR_WIDTH * math.cos(math.radians(ROTATION))
        reach = max(len(lines[0]) * slant - group_w * (i + 0.5) for i, lines in enumerate(labels))
        left = max(left, math.ceil(reach + 4))
        plot_w = width - left - 8
        group_w = plot_w / len(categories)
    if stacked:
        totals = [sum(_num(values[i]) for _, values in series) for i in range(len(categories))]
        high, low = max([0.0, *totals]), min([0.0, *totals])
    else:
        flat = [_num(v) for _, values in series for v in values]
        high, low = max([0.0, *flat]), min([0.0, *flat])
    span = (high - low) or 1.0
    scale = plot_h / span
    zero_y = top + high * scale
    bar_w = group_w * 0.8 / (1 if stacked else len(series))
    number_format = reader_format()
    parts = [_svg_open(width, height, label)]
    parts.append(_gridlines(left, top, plot_w, plot_h, low, high, number_format))
    for i, category in enumerate(categories):
        x0 = left + i * group_w + group_w * 0.1
        offset_up = offset_down = 0.0
        for s, (name, values) in enumerate(series):
            value = _num(values[i])
            h = abs(value) * scale
            if stacked:
                x = x0
                if value >= 0:
                    y = zero_y - offset_up - h
                    offset_up += h
                else:
                    y = zero_y + offset_down
                    offset_down += h
            else:
                x = x0 + s * bar_w
                y = zero_y - h if value >= 0 else zero_y
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} · {escape(name)}: '
                f"{_fmt(value, number_format)}</title></rect>"
            )
        x = left + i * group_w + group_w / 2
        parts.append(_category_label(x, height - bottom + 14, category, labels[i], slanted))
    parts.append(_legend(series, left, height - 6) if len(series) > 1 else "")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers we format, every label through escape()


def line_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    *,
    width: int = 640,
    height: int = 220,
    label: str = "",
) -> SafeString:
    """One line per series over the categories (periods, dates)."""
    if not categories or not series:
        return mark_safe("")
    left, bottom, top = 48, 36, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    flat = [_num(v) for _, values in series for v in values]
    high, low = max([0.0, *flat]), min([0.0, *flat])
    span = (high - low) or 1.0
    step = plot_w / max(len(categories) - 1, 1)
    number_format = reader_format()
    parts = [_svg_open(width, height, label), _gridlines(left, top, plot_w, plot_h, low, high, number_format)]
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        points = [(left + i * step, top + (high - _num(v)) / span * plot_h) for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (x, y), category, value in zip(points, categories, values, strict=False):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(category)} · '
                f"{escape(name)}: {_fmt(value, number_format)}</title></circle>"
            )
    # every k-th category labelled, whole: dates cut short said nothing
    longest = max(len(str(category)) for category in categories) * CHAR_WIDTH + 6
    every = max(1, math.ceil(longest / step)) if len(categories) > 1 else 1
    for i, category in enumerate(categories):
        if i % every == 0:
            parts.append(_category_label(left + i * step, height - bottom + 14, category, [str(category)]))
    parts.append(_legend(series, left, height - 6) if len(series) > 1 else "")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers we format, every label through escape()


def sparkline(values: Sequence[Number], *, width: int = 100, height: int = 24, label: str = "") -> SafeString:
    """A tiny line for a table cell: the shape of a series, nothing else."""
    if not values:
        return mark_safe("")
    numbers = [_num(v) for v in values]
    high, low = max(numbers), min(numbers)
    span = (high - low) or 1.0
    step = (width - 2) / max(len(numbers) - 1, 1)
    path = " ".join(f"{1 + i * step:.1f},{1 + (high - v) / span * (height - 2):.1f}" for i, v in enumerate(numbers))
    number_format = reader_format()
    title = escape(label or ", ".join(_fmt(v, number_format) for v in numbers))
    return mark_safe(  # noqa: S308 - numbers we format, the title through escape()
        f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
        f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/></svg>'
    )


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-label="{escape(label)}" font-family="system-ui, sans-serif" font-size="11">'
    )


def _gridlines(left: float, top: float, plot_w: float, plot_h: float, low: float, high: float,
               number_format: tuple) -> str:  # fmt: skip
    span = (high - low) or 1.0
    parts = []
    for k in range(5):
        value = low + span * k / 4
        y = top + (high - value) / span * plot_h
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dee2e6"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#6c757d">{_fmt(value, number_format)}</text>'
        )
    return "".join(parts)


def _wrapped(text: str, most: int) -> list[str] | None:
    """`text` as at most two lines of at most `most` characters, broken between words; None
    if it does not go."""
    lines = [""]
    for word in text.split():
        if len(word) > most:
            return None
        if lines[-1] and len(lines[-1]) + 1 + len(word) > most:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    return lines if len(lines) <= 2 else None


def _category_labels(categories: Sequence[str], room: float) -> tuple[list[list[str]], float, bool]:
    """Each category's label lines, the extra height they need below the plot and whether
    they are slanted: one level line each when all fit in `room` pixels, else two lines
    broken between words when all go, else slanted (ROTATION degrees) and cut at
    LONGEST_LABEL characters with an ellipsis, the whole text kept as the tooltip."""
    texts = [str(category) for category in categories]
    most = int(room // CHAR_WIDTH)
    if max(len(text) for text in texts) <= most:
        return [[text] for text in texts], 0.0, False
    wrapped = [_wrapped(text, most) for text in texts]
    if all(wrapped):
        return wrapped, float(LINE_HEIGHT), False
    shown = [text if len(text) <= LONGEST_LABEL else text[: LONGEST_LABEL - 1] + "…" for text in texts]
    longest = max(len(text) for text in shown) * CHAR_WIDTH
    angle = math.radians(ROTATION)
    return [[text] for text in shown], longest * math.sin(angle) + LINE_HEIGHT * math.cos(angle) - LINE_HEIGHT, True


def _category_label(x: float, y: float, text: str, lines: list[str], slanted: bool = False) -> str:
    title = f"<title>{escape(text)}</title>" if " ".join(lines) != str(text) else ""
    if slanted:
        # anchored at its end under the tick, falling to the left
        return (
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" fill="#495057" '
            f'transform="rotate(-{ROTATION} {x:.1f} {y - 4:.1f})">{title}{escape(lines[0])}</text>'
        )
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_HEIGHT}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="#495057">{title}{spans}</text>'


def _legend(series, x: float, y: float) -> str:
    parts = []
    for s, (name, _values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.1f}" y="{y:.1f}" fill="#212529">{escape(name)}</text>'
        )
        x += 24 + 7 * len(str(name))
    return "".join(parts)
