"""The board's deal cards, written in Python (issue 15).

The board shows up to 120 cards; through the template engine (an include per card, a
dozen variable lookups and filters each) they were most of the page's Python time. The
markup is the one sales_pipeline/_deal_card.html wrote, character for character
(tests/sales_pipeline/test_deal_cards.py compares them); every value is escaped here.
Templates use them through `{% load deal_cards %}` (templatetags/deal_cards.py).
"""

from decimal import ROUND_HALF_UP, Decimal
from html import escape as html_escape

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import numberformat
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from crm_project.number_text import reader_format
from crm_project.object_urls import object_url_for

from .models import Stage

_FIRST, _LAST = Stage.PRESENTATION.value, Stage.CLOSING.value


_CENT = Decimal("0.01")

# "N days here" per language and N, escaped: the board's 120 cards show some hundred
# different N, and translating them per card was a fifth of the cards' time.
_DAYS_HERE: dict[tuple, str] = {}


@receiver(setting_changed)
def _forget_days_here(*, setting, **kwargs):
    if setting in {"LANGUAGE_CODE", "LANGUAGES", "LOCALE_PATHS", "USE_I18N"}:
        _DAYS_HERE.clear()


def _days_here(days: int) -> str:
    key = (get_language(), days)
    text = _DAYS_HERE.get(key)
    if text is None:
        if len(_DAYS_HERE) >= 10_000:
            _DAYS_HERE.clear()
        text = _DAYS_HERE[key] = conditional_escape(
            ngettext("%(days)s day here", "%(days)s days here", days) % {"days": days}
        )
    return text


def _escape(value) -> str:
    """conditional_escape(value), with plain text escaped directly (the same text: Django's
    escape is html.escape), not through its lazy-string wrapper."""
    return html_escape(value) if type(value) is str else conditional_escape(value)


def card_texts() -> dict:
    """The card's fixed words and number format in the current language, looked up once
    per list (get_format per amount was a tenth of the cards' time)."""
    return {
        "back": conditional_escape(gettext("Move back")),
        "back_label": conditional_escape(gettext("Move back a stage")),
        "on": conditional_escape(gettext("Move on")),
        "on_label": conditional_escape(gettext("Move on a stage")),
        "paid": gettext("paid %(amount)s"),
        # the addresses' shapes read once a list, not twice a card
        "move_url": object_url_for("sales_pipeline:deal_move"),
        "deal_url": object_url_for("sales_pipeline:deal_detail"),
        "number": reader_format(),
    }


def money(value: Decimal, number_format: tuple) -> str:
    """`value|floatformat:"2g"`: two places rounded half up, grouped, no minus on a zero."""
    rounded = Decimal(value).quantize(_CENT, ROUND_HALF_UP)
    text = f"{rounded:f}"
    if not rounded:
        text = text.lstrip("-")
    decimal_sep, grouping, thousand_sep = number_format
    return numberformat.format(text, decimal_sep, 2, grouping, thousand_sep, force_grouping=True, use_l10n=True)


def deal_card(deal, *, can_change: bool, error: str = "", texts: dict | None = None) -> str:
    """One card: `deal` annotated with paid, days and alerts (views.board._cards);
    `can_change` draws the move buttons; `error` why a move was refused."""
    texts = texts or card_texts()
    pk, stage = deal.pk, deal.stage
    move_url = _escape(texts["move_url"](pk))
    manager = deal.manager
    paid = deal.paid
    parts = [
        f'\n\n<article class="card deal-card mb-2" id="deal-card-{pk}" draggable="true" data-stage="{stage}" '
        f'data-move-url="{move_url}">\n'
        '  <div class="card-body p-2 small">\n'
        f'    <a class="fw-semibold d-block text-truncate" href="{_escape(texts["deal_url"](pk))}">'
        f"{_escape(deal.title)}</a>\n"
        f'    <div class="text-muted text-truncate">{_escape(deal.customer.name)}</div>\n'
        '    <div class="d-flex justify-content-between"><span class="deal-amount">'
        f"{money(deal.amount, texts['number'])}</span>",
    ]
    if paid:
        paid_text = conditional_escape(texts["paid"] % {"amount": money(paid, texts["number"])})
        parts.append(f'<span class="text-success">{paid_text}</span>')
    here = _days_here(deal.days)
    parts.append(
        f"</div>\n"
        f'    <div class="text-muted">{_escape(manager.get_full_name() or manager.username)} · '
        f"{here}</div>\n    "
    )
    parts += [f'<span class="badge text-bg-danger me-1">{_escape(alert)}</span>' for alert in deal.alerts]
    parts.append("\n    ")
    if error:
        parts.append(
            f'<div class="alert alert-warning p-1 my-1 deal-card-error" role="alert">{conditional_escape(error)}</div>'
        )
    parts.append("\n    ")
    if can_change:
        target = f'hx-include="#board-filters" hx-target="#deal-card-{pk}" hx-swap="outerHTML"'
        parts.append('\n    <div class="d-flex justify-content-between mt-1">\n      ')
        if stage > _FIRST:
            parts.append(
                f'<button type="button" class="btn btn-outline-secondary btn-sm py-0 deal-back" '
                f'title="{texts["back"]}" aria-label="{texts["back_label"]}"\n'
                f'        hx-post="{move_url}" hx-vals=\'{{"to_stage": "{stage - 1}", "from": "board"}}\'\n'
                f"        {target}>&larr;</button>"
            )
        else:
            parts.append("<span></span>")
        parts.append("\n      ")
        if stage < _LAST:
            parts.append(
                f'<button type="button" class="btn btn-outline-primary btn-sm py-0 deal-forward" '
                f'title="{texts["on"]}" aria-label="{texts["on_label"]}"\n'
                f'        hx-post="{move_url}" hx-vals=\'{{"to_stage": "{stage + 1}", "from": "board"}}\'\n'
                f"        {target}>&rarr;</button>"
            )
        parts.append("\n    </div>\n    ")
    parts.append("\n  </div>\n</article>\n")
    return "".join(parts)


def open_deal_rows(deals) -> SafeString:
    """The customer card's open deals (sales_pipeline/_card_deals.html), one list item each,
    written here for the same reason as the board's cards: a dozen deals through the
    template engine (floatformat and intcomma per amount) were a fifth of the card's
    rendering. `deals`: with pk, title, stage and amount."""
    if not deals:
        return mark_safe("")
    # the number format and the address's shape read once a list, not the card's words
    number = reader_format()
    stages, deal_url = dict(Stage.choices), object_url_for("sales_pipeline:deal_detail")
    return mark_safe(  # noqa: S308 -- every value below is escaped
        "".join(
            '\n    <li class="list-group-item d-flex gap-2">'
            f'<a class="me-auto" href="{conditional_escape(deal_url(deal.pk))}">'
            f"{conditional_escape(deal.title)}</a>\n      "
            f'<span class="text-muted">{conditional_escape(stages.get(deal.stage, deal.stage))}</span>'
            f"<span>{money(deal.amount, number)}</span></li>"
            for deal in deals
        )
    )
