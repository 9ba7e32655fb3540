"""One planned contact of the agenda as HTML, written in Python (issue 15).

The agenda draws up to 75 of these, each with its customer's dossier and three actions;
through the template engine a row cost about 0.65 ms (some sixty variable lookups,
filters and tags), most of the page's rendering. Here a row is one format string; every
value is escaped (`conditional_escape`), the fixed words are translated once per
language and the dates formatted once per day shown. The same function draws the row in
the page and the row redrawn after an htmx action (template tag `agenda_row`).
"""

import unicodedata
from datetime import date
from functools import lru_cache
from html import escape as _html_escape
from urllib.parse import quote_plus

from django.template.defaultfilters import truncatechars
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crm_project.object_urls import object_url_for, page_url

PLANNED = "planned"
SUMMARY_CHARS = 120


def escape_text(value) -> str:
    """conditional_escape(value): plain text (what the rows hold, nearly always) straight
    through the standard library's escape, which is what Django's escape calls."""
    if type(value) is str:
        return _html_escape(value)
    return conditional_escape(value)


def _summary(text: str) -> str:
    """truncatechars(text, 120): a text of at most 120 code points is never cut (the
    filter gives it back NFC-normalised), so only a longer one goes through the Truncator."""
    if len(text) <= SUMMARY_CHARS:
        return unicodedata.normalize("NFC", text)
    return truncatechars(text, SUMMARY_CHARS)


@lru_cache(maxsize=16)
def _phrases(language: str) -> dict[str, str]:
    """The row's sentences with a value in them, in `language`, translated once (not
    escaped: the value goes in first)."""
    return {
        "due": _("due %(day)s"),
        "offer": _("offer %(product)s"),
        "from": _("from %(name)s"),
        "move_label": _("Move the contact with %(customer)s to"),
        "cancel_question": _("Cancel the contact with %(customer)s?"),
    }


@lru_cache(maxsize=64)
def _quoted(next_url: str) -> str:
    """urlencode's spelling of the page's `next` (the same for every row of a page)."""
    return quote_plus(next_url)


@lru_cache(maxsize=16)
def _labels(language: str) -> dict[str, str]:
    """The row's fixed words in `language`, escaped, translated once."""
    words = {
        "last_contact": _("Last contact"),
        "none_yet": _("none yet"),
        "offer_next": _("Offer next"),
        "nothing_offered": _("nothing from the portrait"),
        "log": _("Log"),
        "move": _("Move"),
        "cancel": _("Cancel"),
    }
    return {key: conditional_escape(text) for key, text in words.items()}


@lru_cache(maxsize=2048)
def _formatted(value, fmt: str, language: str) -> str:
    return formats.date_format(value, fmt)


_TIME_FORMAT_CHARACTERS = frozenset("aAcefgGhHiIOPrsTuUZ")  # what the date filter reads off a time


@lru_cache(maxsize=64)
def _reads_time(fmt: str) -> bool:
    return not _TIME_FORMAT_CHARACTERS.isdisjoint(fmt)


def _day(value, fmt: str, language: str | None = None, zone=None) -> str:
    """The `date` filter's output: an aware datetime in local time first; for a format of
    the day alone, its day (so 75 last contacts, each its own moment, share a handful of
    formatted days). A page's rows pass its `language` and time `zone`, read once."""
    if hasattr(value, "tzinfo") and timezone.is_aware(value):
        value = value.astimezone(zone or timezone.get_current_timezone())  # timezone.localtime
        if not _reads_time(fmt):
            value = value.date()
    return _formatted(value, fmt, language or get_language())


def formatted_day(value: date, fmt: str) -> str:
    """formats.date_format(value, fmt) of a date, formatted once per language (a page of
    other apps' rows shows some seventy, dated on a few dozen days that recur from one
    request to the next). Anything but a plain date goes straight to date_format."""
    if type(value) is date:
        return _formatted(value, fmt, get_language())
    return formats.date_format(value, fmt)


ROW = (
    '<li class="list-group-item agenda-row{muted}" id="contact-{pk}">'
    '<div class="d-flex flex-wrap gap-2 align-items-baseline">'
    '<a class="fw-semibold" href="{customer_url}">{customer}</a>{badges}</div>'
    '<dl class="row small mb-1 mt-1 dossier">{dossier}</dl>{body}</li>'
)
TERM = '<dt class="col-sm-3 fw-normal text-muted">{}</dt><dd class="col-sm-9 mb-0">{}</dd>'
ACTIONS = (
    '<div class="d-flex flex-wrap gap-2 align-items-start agenda-actions">'
    '<a class="btn btn-primary btn-sm" href="{log_url}?{completes}" hx-get="{log_url}?{inline}" '
    'hx-target="#contact-{pk}-log">{log}</a>'
    '<form class="d-flex gap-1" method="post" action="{move_url}" hx-post="{move_url}" '
    'hx-target="#contact-{pk}" hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
    '<input type="hidden" name="next" value="{next}">'
    '<input type="date" name="to_date" id="move-{pk}" class="form-control form-control-sm w-auto{invalid}" '
    'min="{today}" value="{value}" required aria-label="{move_label}">'
    '<button type="submit" class="btn btn-outline-secondary btn-sm">{move}</button>'
    '<button type="submit" class="btn btn-outline-danger btn-sm" formaction="{cancel_url}" formnovalidate '
    'hx-post="{cancel_url}" hx-confirm="{cancel_question}">{cancel}</button>'
    '</form></div>{errors}<div id="contact-{pk}-log" class="mt-2"></div>'
)


def _badges(row, page) -> str:
    escape = escape_text
    phrases = page.phrases
    parts = []
    if row.due_date < page.today and row.status == PLANNED:
        text = phrases["due"] % {"day": _day(row.due_date, "D j M", page.language, page.zone)}
        parts.append(f'<span class="badge text-bg-danger">{escape(text)}</span>')
    parts.append(f"<span>{escape(row.purpose)}</span>")
    if row.product_id:
        text = phrases["offer"] % {"product": row.product.name}
        parts.append(f'<span class="badge text-bg-info">{escape(text)}</span>')
    if row.handed_over_from_id:
        giver = row.handed_over_from
        text = phrases["from"] % {"name": giver.get_full_name() or giver.username}
        parts.append(f'<span class="badge text-bg-secondary">{escape(text)}</span>')
    phone = row.customer.phone
    if phone:
        parts.append(f'<a class="small ms-auto" href="tel:{escape(phone)}">{escape(phone)}</a>')
    return "".join(parts)


def _offer_badge_of(name) -> str:
    return f'<span class="badge text-bg-light border">{escape_text(name)}</span>'


# A page offers the same few products to most of its 75 customers: each name escaped once.
_offer_badge = lru_cache(maxsize=4096)(_offer_badge_of)  # plain str only: a SafeString is equal to its text


def _dossier(row, page) -> str:
    escape = escape_text
    labels = page.labels
    if row.last_at:
        summary = _summary(row.last_summary or "")
        day = _day(row.last_at, "j M Y", page.language, page.zone)
        last = f"{escape(day)} · {escape(row.last_kind_label)} · {escape(summary)}"
    else:
        last = f'<span class="text-muted">{labels["none_yet"]}</span>'
    items = [TERM.format(labels["last_contact"], last)]
    for item in row.dossier_items:
        text = f'<a href="{escape(item.url)}">{escape(item.text)}</a>' if item.url else escape(item.text)
        items.append(TERM.format(escape(item.label), text))
    if row.offer_next:
        badge, badge_of = _offer_badge, _offer_badge_of
        offers = " ".join(badge(p.name) if type(p.name) is str else badge_of(p.name) for p in row.offer_next)
    else:
        offers = f'<span class="text-muted">{labels["nothing_offered"]}</span>'
    items.append(TERM.format(labels["offer_next"], offers))
    return "".join(items)


def _agenda_link(day, manager_id, user_pk) -> str:
    query = {"day": f"{day:%Y-%m-%d}"}
    if manager_id != user_pk:
        query["manager"] = manager_id
    return f"{page_url('customers:agenda')}?{urlencode(query)}"


def _outcome(row, *, user_pk, logged, next_contact, moved_to) -> SafeString:
    """What the row says once acted on: done, cancelled or moved."""
    if row.status == "done":
        text = format_html("{}", _("Done"))
        if logged:
            text = format_html("{}: {}", text, _("%(kind)s logged") % {"kind": logged.get_kind_display().lower()})
        text = format_html("{}.", text)
        if next_contact:
            link = _agenda_link(next_contact.due_date, next_contact.manager_id, user_pk)
            text = format_html(
                '{} {} <a href="{}">{}</a>: {}.',
                text, _("Next contact on"), link, _day(next_contact.due_date, "D j M Y"), next_contact.purpose,
            )  # fmt: skip
        return format_html('<p class="small mb-0" role="status">{}</p>', text)
    if row.status == "cancelled":
        return format_html('<p class="small mb-0" role="status">{}</p>', _("Cancelled."))
    link = _agenda_link(moved_to, row.manager_id, user_pk)
    moved = _day(moved_to, "D j M Y")
    return format_html('<p class="small mb-0" role="status">{} <a href="{}">{}</a>.</p>', _("Moved to"), link, moved)


class _Page:
    """What every row of one page shares: the words in the page's language, the addresses'
    shapes, the escaped `next` and CSRF token; worked out once for a page's 75 rows."""

    def __init__(self, *, today, next_url: str, csrf_token: str, user_pk: int):
        self.language = language = get_language()
        self.zone = timezone.get_current_timezone()
        self.labels, self.phrases = _labels(language), _phrases(language)
        self.today, self.next_url, self.csrf_token, self.user_pk = today, next_url, csrf_token, user_pk
        self.customer_url = object_url_for("customers:customer_detail")
        self.log_url = object_url_for("customers:interaction_create")
        self.move_url = object_url_for("customers:planned_contact_move")
        self.cancel_url = object_url_for("customers:planned_contact_cancel")
        self.next_quoted = escape_text(_quoted(next_url))  # escape(urlencode(...))'s spelling of next
        self.next = escape_text(next_url)
        self.csrf = escape_text(csrf_token)
        self.today_value = f"{today:%Y-%m-%d}"


def _actions(row, page: _Page, *, move_form, error) -> str:
    escape = escape_text
    labels, phrases = page.labels, page.phrases
    pk, name = row.pk, row.customer.name
    invalid = move_form is not None and bool(move_form.errors)
    errors = ""
    if invalid:
        text = " ".join(str(message) for message in move_form["to_date"].errors)
        errors += f'<div class="text-danger small" role="alert">{escape(text)}</div>'
    if error:
        errors += f'<div class="text-danger small" role="alert">{escape(error)}</div>'
    return ACTIONS.format(
        pk=pk,
        log_url=page.log_url(row.customer_id),
        # escape(urlencode({"completes": pk, "next": next_url})), escape(urlencode({"where": "agenda", "row": pk}))
        completes=f"completes={pk}&amp;next={page.next_quoted}",
        inline=f"where=agenda&amp;row={pk}",
        move_url=page.move_url(pk),
        cancel_url=page.cancel_url(pk),
        csrf=page.csrf,
        next=page.next,
        invalid=" is-invalid" if invalid else "",
        today=page.today_value,
        value=escape((move_form["to_date"].value() if move_form is not None else None) or ""),
        move_label=escape(phrases["move_label"] % {"customer": name}),
        cancel_question=escape(phrases["cancel_question"] % {"customer": name}),
        log=labels["log"],
        move=labels["move"],
        cancel=labels["cancel"],
        errors=errors,
    )


def render_agenda_row(
    row,
    *,
    today,
    next_url: str,
    csrf_token: str,
    user_pk: int,
    logged=None,
    next_contact=None,
    moved_to=None,
    move_form=None,
    error: str = "",
) -> SafeString:
    """The <li> of one planned contact (a PlannedContact from selectors.agenda.agenda_dossier
    or planned_contact_row): its customer, purpose and badges, the dossier, then either
    its actions (log, move, cancel) or what became of it."""
    page = _Page(today=today, next_url=next_url, csrf_token=csrf_token, user_pk=user_pk)
    return mark_safe(  # noqa: S308 - every value is escaped
        _row(row, page, logged=logged, next_contact=next_contact, moved_to=moved_to, move_form=move_form, error=error)
    )


def render_agenda_rows(rows, *, today, next_url: str, csrf_token: str, user_pk: int, separator: str = "") -> SafeString:
    """render_agenda_row of each of `rows` (none acted on yet), each followed by
    `separator`, with what the rows share worked out once."""
    page = _Page(today=today, next_url=next_url, csrf_token=csrf_token, user_pk=user_pk)
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(
            _row(row, page, logged=None, next_contact=None, moved_to=None, move_form=None, error="") + separator
            for row in rows
        )
    )


def _row(row, page: _Page, *, logged, next_contact, moved_to, move_form, error) -> str:
    acted = row.status != PLANNED or bool(moved_to)
    if acted:
        body = _outcome(row, user_pk=page.user_pk, logged=logged, next_contact=next_contact, moved_to=moved_to)
    else:
        body = _actions(row, page, move_form=move_form, error=error)
    return ROW.format(
        muted=" text-muted" if acted else "",
        pk=row.pk,
        customer_url=escape_text(page.customer_url(row.customer_id)),
        customer=escape_text(row.customer.name),
        badges=_badges(row, page),
        dossier=_dossier(row, page),
        body=body,
    )
