"""django-tables2, made cheap to render (issue 15).

Profiled on the customer list, half the page's time went to django-tables2 itself:
- `utils.signature` runs `inspect.signature` for every cell to see which keyword
  arguments a column's `render` takes; the answer never changes for a function, so it is
  cached per function here;
- `DateColumn` / `DateTimeColumn` are TemplateColumns that compile a template for every
  cell; the columns registered here format the date in Python, with the same output;
- the row template renders every cell through the template engine (`row.items`, the
  `td` attributes and `localize` per cell); `table_rows` renders the body in Python,
  each column's cells from a plan worked out once per table (`_Cell`); a column with a
  `cell_html(record, table)` method draws its own cells (safe HTML, the same markup its
  render() gives through django-tables2: the managed base's product columns).

`install()` runs once at start-up (customers' AppConfig.ready, before any table class
is built). The table template (settings.DJANGO_TABLES2_TEMPLATE) uses `table_rows`.
"""

import inspect
import weakref
from datetime import date, datetime
from decimal import Decimal
from functools import partialmethod
from html import escape as html_escape

from django import template
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.template.base import render_value_in_context
from django.utils import dateformat, formats, numberformat, timezone
from django.utils.encoding import force_str
from django.utils.formats import FORMAT_SETTINGS
from django.utils.functional import Promise
from django.utils.hashable import make_hashable
from django.utils.html import conditional_escape, escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django_tables2 import utils as tables_utils
from django_tables2.columns import Column, ManyToManyColumn, library
from django_tables2.columns.base import LinkTransform
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRow
from django_tables2.templatetags.django_tables2 import table_page_range
from django_tables2.utils import Accessor, AttributeDict, call_with_appropriate

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


# Format characters of django.utils.dateformat that read only the day (no time, zone or
# epoch): a date shown with these alone is the same text for every time of that day.
_DAY_CHARACTERS = frozenset("bdDEFjlLmMnNoStwWyYz")
_day_only_formats: dict[str, bool] = {}
_days: dict[tuple, str] = {}
# ... and those that read only the wall-clock day and time (no zone, DST or epoch): a local
# datetime shown with these is the same text whatever its tzinfo.
_WALL_CHARACTERS = _DAY_CHARACTERS | frozenset("aAfgGhHiPsu")
_wall_only_formats: dict[str, bool] = {}
_moments: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_days(*, setting, **kwargs):
    """Formats come from settings (and the language's format files): tests that change
    them see their own text."""
    if setting in FORMAT_SETTINGS or setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "USE_L10N", "TIME_ZONE"}:
        _days.clear()
        _day_only_formats.clear()
        _moments.clear()
        _wall_only_formats.clear()


def _shows_only(format_name: str, characters: frozenset, known: dict[str, bool]) -> bool:
    """Whether `format_name` (a format setting's name or a format) uses only `characters`,
    kept in `known` per resolved format."""
    resolved = formats.get_format(format_name)
    answer = known.get(resolved)
    if answer is None:
        answer = known[resolved] = set(dateformat.re_formatchars.findall(resolved)) <= characters
    return answer


def _day_only(format_name: str) -> bool:
    """Whether `format_name` shows only the day."""
    return _shows_only(format_name, _DAY_CHARACTERS, _day_only_formats)


def _wall_only(format_name: str) -> bool:
    """Whether `format_name` shows only the wall-clock day and time (_WALL_CHARACTERS)."""
    return _shows_only(format_name, _WALL_CHARACTERS, _wall_only_formats)


def moment_format(moment: datetime, format_name: str) -> str:
    """formats.date_format(moment, format_name) for a local datetime, kept per format,
    language and wall-clock moment when the format shows only the wall-clock day and time
    (_wall_only): a list's first page shows the same rows' timestamps on every request (a
    date_format per cell was about a tenth of the customer list's Python time). Only such
    formats are ever kept, so a kept text is returned without resolving the format again."""
    key = (format_name, get_language(), moment.replace(tzinfo=None))
    text = _moments.get(key)
    if text is None:
        if _day_only(format_name):
            text = day_format(moment.date(), format_name)
        else:
            text = formats.date_format(moment, format_name)
        if _wall_only(format_name):
            if len(_moments) >= 20_000:
                _moments.clear()
            _moments[key] = text
    return text


def day_format(day: date, format_name: str) -> str:
    """formats.date_format(day, format_name), kept per format, language and day: a list
    shows the same few days many times (each date_format costs about 60 microseconds)."""
    key = (format_name, get_language(), day)
    text = _days.get(key)
    if text is None:
        if len(_days) >= 20_000:
            _days.clear()
        text = _days[key] = formats.date_format(day, format_name)
    return text


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
        if type(value) is date:
            return day_format(value, self.format)
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
        if type(value) is datetime:
            return moment_format(value, self.format)
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
    TableQuerysetData.order_by = _then_by_key(TableQuerysetData.order_by)
    # Registered last, so chosen first for model date fields.
    library.register(LeanDateColumn)
    library.register(LeanDateTimeColumn)


def _then_by_key(order_by):
    """TableQuerysetData.order_by, then by the primary key: rows that tie on the sorted
    column (customers created in the same second, deals at the same stage) kept one order
    between requests, so that no row repeats on two pages or falls between them."""

    def order_by_then_key(self, aliases):
        order_by(self, aliases)
        self.data = stable_order(self.data)

    return order_by_then_key


def stable_order(queryset):
    """`queryset` with its primary key as the last sort key, in the direction of the key
    before it (an index on that key can then serve both); as it is when it has no explicit
    order, is a union, or already ends with its key."""
    query = queryset.query
    ordering = list(query.order_by)
    if not ordering or query.combinator:
        return queryset
    last = ordering[-1]
    if isinstance(last, str):
        descending, name = last.startswith("-"), last.lstrip("-")
        if name in ("pk", queryset.model._meta.pk.name, queryset.model._meta.pk.attname):
            return queryset
    else:  # an expression: OrderBy(...) or a bare one, ascending
        descending = bool(getattr(last, "descending", False))
    return queryset.order_by(*ordering, "-pk" if descending else "pk")


def _static_td(table, bound_column) -> str | None:
    """The column's <td> attributes when they do not depend on the row (no callables)."""
    attrs = {**table.attrs, **bound_column.column.attrs}
    td = attrs.get("td", attrs.get("cell", {}))
    if any(callable(v) for v in td.values()):
        return None
    return bound_column.attrs["td"].as_html()


class _Cell:
    """How one column's cells are drawn, worked out once per table: BoundRow.get_cell's
    steps (accessor, get_FOO_display for choices, default for empty values, the render
    method, the link) without re-deciding them for every cell. Columns this does not
    cover (many-to-many, link columns with a text, dictionaries as records) fall back to
    BoundRow.get_cell."""

    _EMPTY = object()

    def __init__(self, table, bound_column):
        column = bound_column.column
        self.bound_column = bound_column
        self.column = column
        self.name = bound_column.name
        self.bits = tuple(Accessor(bound_column.accessor).bits)
        model = getattr(table.data, "model", None) or table._meta.model
        field = Accessor(bound_column.accessor).get_field(model) if model is not None else None
        self.display = f"get_{self.bits[-1]}_display" if self.bits and getattr(field, "choices", ()) else None
        self.model = model
        self.choices = _own_choices(model, field, self.display) if len(self.bits) == 1 else None
        self.labels = {}  # choice key -> its label's text, for this table
        # Without a model, which fields have choices is only known per record.
        self.lean = model is not None and bool(self.bits) and not isinstance(column, ManyToManyColumn)
        self.link = _static_link(bound_column)
        # A link column whose text is the value and whose href is made from the value alone
        # (EmailColumn's mailto:): drawn here, not through BoundRow.get_cell (a tenth of the
        # customer list's Python went to its email column's cells).
        self.value_link = _value_link(bound_column)
        if isinstance(column, BaseLinkColumn) and (column.text is not None or self.value_link is None):
            self.lean = False
        # A column may draw its cells itself: `cell_html(record, table)` returns the cell's
        # safe HTML, the same as its render() gives through BoundRow.get_cell (used for
        # the many cells of the managed base's product columns).
        direct = getattr(column, "cell_html", None)
        self.direct = direct if callable(direct) and not bound_column.link else None
        render = bound_column.render
        function = getattr(render, "__func__", None)
        # Column.render gives the value; so does a link column's without a text of its own
        self.plain = function is Column.render or (function is BaseLinkColumn.render and column.text is None)
        args, catch_all = cached_signature(render)
        self.value_only = not catch_all and tuple(args) == ("value",)
        self.empty_values = column.empty_values

    def value(self, record):
        """The cell's value, as BoundRow._get_and_render_with finds it (or _EMPTY when it
        must be asked to the row)."""
        current = record
        bits = self.bits
        last = len(bits) - 1
        for index, bit in enumerate(bits):
            if index == last and self.display is not None and isinstance(current, models.Model):
                if self.choices is not None and type(current) is self.model:
                    # Model._get_FIELD_display with the choices looked up once, and each
                    # label's text once per table (a lazy translation, forced per cell)
                    value = getattr(current, bit)
                    key = value if type(value) in (str, int) else make_hashable(value)
                    label = self.labels.get(key, self._EMPTY)
                    if label is self._EMPTY:
                        label = self.labels[key] = force_str(self.choices.get(key, value), strings_only=True)
                    return label
                return getattr(current, self.display)()
            try:
                current = getattr(current, bit)
            except AttributeError:
                return self._EMPTY
            if callable(current):
                return self._EMPTY
            if current is None:
                return None
        return current

    def render(self, row):
        record = row.record
        if self.direct is not None:
            return self.direct(record, row.table)
        value = self.value(record) if self.lean and not isinstance(record, dict) else self._EMPTY
        if value is self._EMPTY:
            return row.get_cell(self.name)
        if value in self.empty_values:
            return self.bound_column.default
        bound_column = self.bound_column
        if self.plain:
            content = value
        elif self.value_only:
            content = bound_column.render(value=value)
        else:
            content = call_with_appropriate(bound_column.render, row._optional_cell_arguments(bound_column, value))
        if self.value_link is not None:
            href = self.value_link[1](value)
            return content if href is None else format_html('<a {}href="{}">{}</a>', self.value_link[0], href, content)
        if self.link is not None:
            href = self._href(record)
            if href is not self._EMPTY:
                return content if href is None else format_html('<a {}href="{}">{}</a>', self.link, href, content)
        if bound_column.link:
            return bound_column.link(content, **row._optional_cell_arguments(bound_column, value))
        return content

    def _href(self, record):
        """LinkTransform.compose_url for `linkify=True`: the column's object's
        get_absolute_url(), or the record's."""
        target = record
        for bit in self.name.split("__"):
            target = getattr(target, bit, None)
            if target is None or callable(target):
                return self._EMPTY
        if not hasattr(target, "get_absolute_url"):
            target = record
        return target.get_absolute_url()


# (model, field, display) -> _own_choices' answer: a model's fields and choices are fixed for
# the process, and working them out was a few percent of a list with three choice columns
_choice_maps: dict = {}


def _own_choices(model, field, display):
    """The field's choices as Model._get_FIELD_display reads them, when the model's
    get_FOO_display is Django's own (None otherwise). Read only: the same dict is shared."""
    key = (model, field, display)
    if key in _choice_maps:
        return _choice_maps[key]
    choices = None
    method = inspect.getattr_static(model, display, None) if display else None
    if isinstance(method, partialmethod) and method.func is models.Model._get_FIELD_display:
        if method.keywords.get("field") is field:
            choices = dict(make_hashable(field.flatchoices))
    _choice_maps[key] = choices
    return choices


def _static_link(bound_column) -> str | None:
    """The <a> attributes before href (with their trailing space) of a `linkify=True`
    column whose attributes do not depend on the row; None for any other link."""
    link = bound_column.link
    if type(link) is not LinkTransform or link.url is not None or link.reverse_args or link.accessor is not None:
        return None
    attrs = link.attrs or {}
    if "href" in attrs or any(callable(value) for value in attrs.values()):
        return None
    html = AttributeDict(attrs).as_html()
    return mark_safe(f"{html} " if html else "")  # noqa: S308 - as_html escapes


def _value_link(bound_column) -> tuple | None:
    """(the <a> attributes before href, the href's function of the value) for a link column
    whose href is `url(value)` (EmailColumn.get_url) and whose attributes do not depend on
    the row; None for any other column."""
    link, column = bound_column.link, bound_column.column
    if type(link) is not LinkTransform or not callable(link.url) or link.reverse_args or link.accessor is not None:
        return None
    if link.url != getattr(column, "get_url", None) or cached_signature(link.url) != (("value",), None):
        return None
    attrs = link.attrs or {}
    if "href" in attrs or any(callable(value) for value in attrs.values()):
        return None
    html = AttributeDict(attrs).as_html()
    return mark_safe(f"{html} " if html else ""), link.url  # noqa: S308 - as_html escapes


def _escaped(value, context, lazy: dict) -> str:
    """render_value_in_context, with the common cases (text, safe text, lazy translations,
    decimals, model objects) short-cut. `lazy` keeps each lazy translation's text for one
    table: a column's labels are the same few objects on every row, each translated once
    (kept alongside, so that no id is reused while the table is drawn); and, under
    _NUMBER, the number format of the table's language."""
    kind = type(value)
    if kind is str:
        return html_escape(value) if context.autoescape else value  # django's escape(), unwrapped
    if kind is SafeString:
        return value
    if isinstance(value, Promise):  # str() then escaped, as the template does
        known = lazy.get(id(value))
        if known is None:
            known = lazy[id(value)] = (value, conditional_escape(str(value)))
        return known[1]
    if kind is Decimal and context.use_l10n is not False:
        # formats.localize -> number_format with the language's separators, read once per table
        number = lazy.get(_NUMBER)
        if number is None:
            language = get_language()
            number = lazy[_NUMBER] = tuple(
                formats.get_format(name, language, use_l10n=True)
                for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
            )
        text = numberformat.format(value, number[0], None, number[1], number[2], use_l10n=True)
        return conditional_escape(text) if context.autoescape else text
    if isinstance(value, models.Model):  # neither localized nor a local time: its str()
        text = str(value)
        return conditional_escape(text) if context.autoescape else text
    return render_value_in_context(value, context)


_NUMBER = object()  # _escaped's key for the number format


register = template.Library()


@register.simple_tag(takes_context=True)
def table_rows(context, table):
    """The <tbody> rows of django-tables2's bootstrap5 template, rendered in Python: the
    same cells (BoundRow.items), row attributes and `localize` handling."""
    columns = list(table.columns)
    td = {column.name: _static_td(table, column) for column in columns}
    cells = [_Cell(table, column) for column in columns]
    # Rows without attributes of their own only alternate their class.
    static_row = not table.row_attrs
    parity = {"even": 'class="even"', "odd": 'class="odd"'}
    parts = []
    lazy = {}
    for row in table.paginated_rows:
        if static_row and type(row) is BoundRow:
            parts.append(f"<tr {parity[row.get_even_odd_css_class()]}>")
        else:
            parts.append(format_html("<tr {}>", row.attrs.as_html()))
        for column, cell in zip(columns, cells, strict=True):
            value = cell.render(row)
            attrs = td[column.name]
            if attrs is None:
                # callable attributes read the cell (BoundRow.items sets these)
                column.current_value = value
                column.current_record = row.record
                attrs = column.attrs["td"].as_html()
            if column.localize is None:
                value = _escaped(value, context, lazy)
            elif column.localize:
                value = render_value_in_context(formats.localize(value, use_l10n=True), context)
            else:
                value = render_value_in_context(formats.localize(value, use_l10n=False), context)
            parts.append(f"<td {attrs}>{value}</td>")
        parts.append("</tr>")
    if not parts and table.empty_text:
        parts.append(format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def _querystring(request, key, value) -> str:
    """django-tables2's {% querystring_replace key=value %}: the query string with `key`
    set to `value` (in its place, or last). Each parameter is encoded once per request
    (a header and its page links ask some twenty times); urlencode joins the pairs with
    "&", so the pieces joined give its text."""
    query = request.GET
    known = getattr(request, "_crm_query_pieces", None)
    if known is None or known[0] is not query:
        pieces = {name: urlencode({name: values}, doseq=True) for name, values in query.lists()}
        known = request._crm_query_pieces = (query, pieces)
    pieces = known[1]
    if key not in ("", None):
        pieces = {**pieces, key: urlencode({key: value}, doseq=True)}
    return escape("?" + "&".join(piece for piece in pieces.values() if piece))


@register.simple_tag(takes_context=True)
def table_head(context, table):
    """The header cells of the bootstrap5 template (sort links included), in Python."""
    request = context["request"]
    parts = []
    for column in table.columns:
        header = render_value_in_context(column.header, context)
        if column.orderable:
            href = _querystring(request, table.prefixed_order_by_field, column.order_by_alias.next)
            header = f'<a href="{href}">{header}</a>'
        parts.append(f'<th {column.attrs["th"].as_html()} scope="col">{header}</th>')
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


@register.simple_tag(takes_context=True)
def table_pagination(context, table):
    """The bootstrap5 template's page links, in Python."""
    page = getattr(table, "page", None)
    if not page or table.paginator.num_pages <= 1:
        return ""
    request = context["request"]
    field = table.prefixed_page_field
    parts = [f'<nav aria-label="{escape(gettext("Table navigation"))}"><ul class="pagination justify-content-center">']
    if page.has_previous():
        href = _querystring(request, field, page.previous_page_number())
        parts.append(
            f'<li class="previous page-item"><a href="{href}" class="page-link">'
            f'<span aria-hidden="true">&laquo;</span> {escape(gettext("previous"))}</a></li>'
        )
    if page.has_previous() or page.has_next():
        for number in table_page_range(page, table.paginator):
            active = " active" if page.number == number else ""
            href = f'href="{_querystring(request, field, number)}"' if number != "..." else ""
            text = render_value_in_context(number, context)
            parts.append(f'<li class="page-item{active}"><a class="page-link" {href}>{text}</a></li>')
    if page.has_next():
        href = _querystring(request, field, page.next_page_number())
        parts.append(
            f'<li class="next page-item"><a href="{href}" class="page-link">'
            f'{escape(gettext("next"))} <span aria-hidden="true">&raquo;</span></a></li>'
        )
    parts.append("</ul></nav>")
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above
