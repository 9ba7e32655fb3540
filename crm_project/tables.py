"""django-tables2, made cheap to render (issue 15).

Profiled on the customer list, half the page's time went to django-tables2 itself:
- `utils.signature` runs `inspect.signature` for every cell to see which keyword
  arguments a column's `render` takes; the answer never changes for a function, so it is
  cached per function here;
- `DateColumn` / `DateTimeColumn` are TemplateColumns that compile a template for every
  cell; the columns registered here format the date in Python, with the same output;
- the row template renders every cell through the template engine (`row.items`, the
  `td` attributes and `localize` per cell); `table_rows` renders the body in Python.

`install()` runs once at start-up (customers' AppConfig.ready, before any table class
is built). The table template (settings.DJANGO_TABLES2_TEMPLATE) uses `table_rows`.
"""

import weakref
from datetime import date, datetime

from django import template
from django.db import models
from django.template.base import render_value_in_context
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_tables2 import utils as tables_utils
from django_tables2.columns import Column, library

_signatures: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_uncached_signature = tables_utils.signature


def cached_signature(fn):
    """tables_utils.signature, computed once per function (and per bound or not)."""
    function = getattr(fn, "__func__", fn)
    try:
        per_function = _signatures.get(function)
    except TypeError:  # not weak-referenceable: no cache
        return _uncached_signature(fn)
    if per_function is None:
        per_function = _signatures[function] = {}
    bound = function is not fn
    if bound not in per_function:
        per_function[bound] = _uncached_signature(fn)
    return per_function[bound]


class LeanDateColumn(Column):
    """A date in SHORT_DATE_FORMAT, as django-tables2's DateColumn shows it, without a
    template per cell; exports the ISO date."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        self.format = format or ("SHORT_DATE_FORMAT" if short else "DATE_FORMAT")
        super().__init__(*args, **kwargs)

    @classmethod
    def from_field(cls, field, **kwargs):
        if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
            return cls(**kwargs)

    def render(self, value):
        return formats.date_format(value, self.format)

    def value(self, value):
        return value.isoformat() if isinstance(value, date) else value


class LeanDateTimeColumn(LeanDateColumn):
    """A date and time in the current time zone, SHORT_DATETIME_FORMAT."""

    def __init__(self, format=None, short=True, *args, **kwargs):
        super().__init__(format or ("SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT"), short, *args, **kwargs)

    @classmethod
    def from_field(cls, field, **kwargs):
        if isinstance(field, models.DateTimeField):
            return cls(**kwargs)

    def render(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, self.format)

    def value(self, value):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    tables_utils.signature = cached_signature
    # Registered last, so chosen first for model date fields.
    library.register(LeanDateColumn)
    library.register(LeanDateTimeColumn)


def _static_td(table, bound_column) -> str | None:
    """The column's <td> attributes when they do not depend on the row (no callables)."""
    attrs = {**table.attrs, **bound_column.column.attrs}
    td = attrs.get("td", attrs.get("cell", {}))
    if any(callable(v) for v in td.values()):
        return None
    return bound_column.attrs["td"].as_html()


register = template.Library()


@register.simple_tag(takes_context=True)
def table_rows(context, table):
    """The <tbody> rows of django-tables2's bootstrap5 template, rendered in Python: the
    same cells (BoundRow.items), row attributes and `localize` handling."""
    columns = list(table.columns)
    td = {column.name: _static_td(table, column) for column in columns}
    parts = []
    for row in table.paginated_rows:
        parts.append(format_html("<tr {}>", row.attrs.as_html()))
        for column, cell in row.items():
            attrs = td[column.name]
            if attrs is None:
                attrs = column.attrs["td"].as_html()
            if column.localize is None:
                value = render_value_in_context(cell, context)
            elif column.localize:
                value = render_value_in_context(formats.localize(cell, use_l10n=True), context)
            else:
                value = render_value_in_context(formats.localize(cell, use_l10n=False), context)
            parts.append(f"<td {attrs}>{value}</td>")
        parts.append("</tr>")
    if not parts and table.empty_text:
        parts.append(format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above
