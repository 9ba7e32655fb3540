"""`{% deal_cards cards %}` (the board's columns) and `{% deal_card deal error %}` (one card,
after a move): sales_pipeline.deal_cards in templates."""

from django import template
from django.utils.safestring import mark_safe

from ..deal_cards import card_texts, deal_card

register = template.Library()


def _can_change(context) -> bool:
    perms = context.get("perms")
    return bool(perms and perms["sales_pipeline"]["change_deal"])


_TEXTS = object()  # the render context's key of the card texts, looked up once a page


@register.simple_tag(takes_context=True, name="deal_cards")
def deal_cards_tag(context, deals):
    texts = context.render_context.get(_TEXTS)
    if texts is None:  # once for the board's six columns
        texts = context.render_context[_TEXTS] = card_texts()
    can_change = _can_change(context)
    return mark_safe("".join(deal_card(deal, can_change=can_change, texts=texts) for deal in deals))  # noqa: S308 - escaped in deal_card


@register.simple_tag(takes_context=True, name="deal_card")
def deal_card_tag(context, deal, error=""):
    return mark_safe(deal_card(deal, can_change=_can_change(context), error=error))  # noqa: S308 - escaped in deal_card
