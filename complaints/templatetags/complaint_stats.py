"""The complaint statistics' tables, their bodies written in Python (issue 15).

A director's product table has a row per product complained about (some 700 over a year
at 50,000 customers); drawn by the template loop, each row resolved its variables and a
{% widthratio %}, and the page grew with the data. A frame reached from the template was
also looked up as frame["itertuples"] and frame["empty"] first (Django tries a key before
an attribute), a KeyError raised through pandas each time. These tags give the markup of
the loops they replace character for character (tests/complaints/test_statistics_rows.py
renders both), each row followed by the template's line break and indent:

    {% for row in frame.itertuples %}<tr><td>{{ row.label }}</td><td class="text-end">{{ row.count }}</td>
    <td class="text-end">{% widthratio row.share 1 100 %}</td></tr>
              {% empty %}<tr><td colspan="3" class="text-muted">{% translate "No complaints in this period." %}
    </td></tr>{% endfor %}

(the satisfaction tables' loop likewise, with responses, average|floatformat:2 and the
share of low scores).
"""

from django import template
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import floatformat
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()

# What followed each row in the template: its line break and the next line's indent.
ROW_END = "</tr>\n          "
_CONTEXT = Context(autoescape=True)


def share_percent(share) -> str:
    """{% widthratio share 1 100 %}: the share (0..1) as a whole percentage."""
    try:
        return str(round((float(share) / 1.0) * 100))
    except (ValueError, TypeError, OverflowError):
        return ""


def shown(value) -> str:
    """{{ value }} in an autoescaped template: text escaped, numbers localized."""
    kind = type(value)
    if kind is str:
        return conditional_escape(value)
    if kind is int and 0 <= value < 1000:  # no format groups the digits of these
        return str(value)
    return render_value_in_context(value, _CONTEXT)


@register.simple_tag
def composition_rows(frame) -> str:
    """The <tr>s of one composition table (statistics.composition's frame: label, count,
    share), or the row saying there is none."""
    if frame.empty:
        return mark_safe(  # noqa: S308 - escaped
            f'<tr><td colspan="3" class="text-muted">{conditional_escape(gettext("No complaints in this period."))}'
            "</td></tr>"
        )
    parts = [
        f'<tr><td>{shown(label)}</td><td class="text-end">{shown(count)}</td>'
        f'<td class="text-end">{share_percent(share)}</td>{ROW_END}'
        # a Series gives Python numbers, as itertuples did
        for label, count, share in zip(frame["label"], frame["count"], frame["share"], strict=True)
    ]
    return mark_safe("".join(parts))  # noqa: S308 - text escaped, the rest are numbers


@register.simple_tag
def satisfaction_rows(frame) -> str:
    """The <tr>s of one satisfaction table (statistics.satisfaction's frame), or the row
    saying there is none."""
    if frame.empty:
        return mark_safe(  # noqa: S308 - escaped
            f'<tr><td colspan="4" class="text-muted">{conditional_escape(gettext("No answers in this period."))}'
            "</td></tr>"
        )
    columns = (frame["label"], frame["responses"], frame["average"], frame["low_share"])
    parts = [
        f'<tr><td class="text-wrap">{shown(label)}</td><td class="text-end">{shown(responses)}</td>'
        f'<td class="text-end">{shown(floatformat(average, 2))}</td>'
        f'<td class="text-end">{share_percent(low_share)} %</td>{ROW_END}'
        for label, responses, average, low_share in zip(*columns, strict=True)
    ]
    return mark_safe("".join(parts))  # noqa: S308 - text escaped, the rest are numbers
