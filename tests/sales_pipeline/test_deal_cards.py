"""The board's cards written in Python (sales_pipeline.deal_cards) give the markup the
card template gave, character for character, escaped the same."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.template import engines

from customers.models import Customer
from sales_pipeline.models import Deal, Stage

# sales_pipeline/_deal_card.html as it was before the cards were written in Python
TEMPLATE_CARD = """{% comment %} the old card {% endcomment %}{% load crm_urls l10n %}{% localize off %}
{% object_url 'sales_pipeline:deal_move' deal.pk as move_url %}
<article class="card deal-card mb-2" id="deal-card-{{ deal.pk }}" draggable="true" data-stage="{{ deal.stage }}" data-move-url="{{ move_url }}">
  <div class="card-body p-2 small">
    <a class="fw-semibold d-block text-truncate" href="{{ deal.get_absolute_url }}">{{ deal.title }}</a>
    <div class="text-muted text-truncate">{{ deal.customer.name }}</div>
    <div class="d-flex justify-content-between"><span class="deal-amount">{{ deal.amount|floatformat:"2g" }}</span>{% if deal.paid %}<span class="text-success">paid {{ deal.paid|floatformat:"2g" }}</span>{% endif %}</div>
    <div class="text-muted">{{ deal.manager.get_full_name|default:deal.manager.username }} · {{ deal.days }} day{{ deal.days|pluralize }} here</div>
    {% for alert in deal.alerts %}<span class="badge text-bg-danger me-1">{{ alert }}</span>{% endfor %}
    {% if error %}<div class="alert alert-warning p-1 my-1 deal-card-error" role="alert">{{ error }}</div>{% endif %}
    {% if perms.sales_pipeline.change_deal %}
    <div class="d-flex justify-content-between mt-1">
      {% if deal.stage > 1 %}<button type="button" class="btn btn-outline-secondary btn-sm py-0 deal-back" title="Move back" aria-label="Move back a stage"
        hx-post="{{ move_url }}" hx-vals='{"to_stage": "{{ deal.stage|add:-1 }}", "from": "board"}'
        hx-include="#board-filters" hx-target="#deal-card-{{ deal.pk }}" hx-swap="outerHTML">&larr;</button>{% else %}<span></span>{% endif %}
      {% if deal.stage < 6 %}<button type="button" class="btn btn-outline-primary btn-sm py-0 deal-forward" title="Move on" aria-label="Move on a stage"
        hx-post="{{ move_url }}" hx-vals='{"to_stage": "{{ deal.stage|add:1 }}", "from": "board"}'
        hx-include="#board-filters" hx-target="#deal-card-{{ deal.pk }}" hx-swap="outerHTML">&rarr;</button>{% endif %}
    </div>
    {% endif %}
  </div>
</article>{% endlocalize %}
"""  # noqa: E501

NEW_CARD = "{% load deal_cards %}{% deal_card deal error %}"
NEW_CARDS = "{% load deal_cards %}{% deal_cards deals %}"


def _deal(pk, stage, *, amount="1234567.50", paid="0.00", days=3, alerts=(), title="Line <upgrade> & co", full=True):
    manager = get_user_model()(username="m&m", first_name="Ann" if full else "", last_name="O'Neil" if full else "")
    customer = Customer(name='Acme "Best" <Ltd>')
    deal = Deal(pk=pk, stage=stage, amount=Decimal(amount), title=title, customer=customer, manager=manager)
    deal.stage_entered_at = datetime(2026, 1, 1)
    deal.paid, deal.days, deal.alerts = Decimal(paid), days, list(alerts)
    return deal


DEALS = [
    _deal(1, Stage.PRESENTATION, days=1),
    _deal(22, Stage.OFFER, amount="0.00", days=0, alerts=["Offer expired"]),
    _deal(333, Stage.PAYMENT, paid="-0.00", alerts=["Invoice expired", "<b>x</b>"], full=False),
    _deal(4444, Stage.DELIVERY, amount="-1000.05", paid="999999999.99", days=1000),
    _deal(55555, Stage.CLOSING, amount="12.345", paid="0.01"),
    _deal(666666, Stage.AGREEMENT, amount="-0.004", paid="-0.005"),
]


@pytest.mark.parametrize("can_change", [True, False])
@pytest.mark.parametrize("error", ["", "Fill in the <offer> & date"])
def test_one_card_is_the_templates_card(can_change, error):
    perms = {"sales_pipeline": {"change_deal": can_change}}
    old, new = engines["django"].from_string(TEMPLATE_CARD), engines["django"].from_string(NEW_CARD)
    for deal in DEALS:
        context = {"deal": deal, "error": error, "perms": perms}
        assert new.render(context) == old.render(context)


def test_a_column_of_cards_is_the_templates_cards_in_a_row():
    perms = {"sales_pipeline": {"change_deal": True}}
    loop = "{% for deal in deals %}{% include 'card.html' %}{% endfor %}"
    old = engines["django"].from_string(loop.replace("{% include 'card.html' %}", TEMPLATE_CARD.rstrip("\n") + "\n"))
    new = engines["django"].from_string(NEW_CARDS)
    context = {"deals": DEALS, "perms": perms}
    assert new.render(context) == old.render(context)


# sales_pipeline/_card_deals.html's loop as it was before the customer card's rows were written in Python
TEMPLATE_CARD_DEALS = """{% load humanize %}{% for deal in open_deals %}
    <li class="list-group-item d-flex gap-2"><a class="me-auto" href="{{ deal.get_absolute_url }}">{{ deal.title }}</a>
      <span class="text-muted">{{ deal.get_stage_display }}</span><span>{{ deal.amount|floatformat:2|intcomma }}</span></li>{% endfor %}"""  # noqa: E501


def test_the_customer_cards_deal_rows_are_the_templates_rows():
    from sales_pipeline.deal_cards import open_deal_rows

    old = engines["django"].from_string(TEMPLATE_CARD_DEALS).render({"open_deals": DEALS})
    assert open_deal_rows(DEALS) == old and "&lt;upgrade&gt; &amp; co" in old and "1,234,567.50" in old
    assert open_deal_rows([]) == ""


def test_the_days_text_is_translated_once_per_language_and_number(monkeypatch):
    """The text "N days here" is kept per language and N: the board translated it per card."""
    from django.utils import translation

    from sales_pipeline import deal_cards

    deal_cards._DAYS_HERE.clear()
    calls = []
    ngettext = deal_cards.ngettext
    monkeypatch.setattr(deal_cards, "ngettext", lambda *args: calls.append(args[2]) or ngettext(*args))
    perms = {"sales_pipeline": {"change_deal": True}}
    template = engines["django"].from_string(NEW_CARDS + NEW_CARDS.replace("{% load deal_cards %}", ""))
    twice = template.render({"deals": DEALS, "perms": perms})
    # every card drawn, each number translated once however many cards and columns show it
    assert twice.count('class="card deal-card') == 2 * len(DEALS)
    assert sorted(calls) == sorted({deal.days for deal in DEALS})
    with translation.override("de"):  # another language has texts of its own
        template.render({"deals": DEALS, "perms": perms})
    assert len(calls) == 2 * len({deal.days for deal in DEALS})


def test_the_board_looks_the_card_texts_up_once_for_all_columns(monkeypatch):
    from sales_pipeline.templatetags import deal_cards as tags

    looked_up = []
    card_texts = tags.card_texts
    monkeypatch.setattr(tags, "card_texts", lambda: looked_up.append(1) or card_texts())
    columns = "{% load deal_cards %}{% for column in columns %}{% deal_cards column %}{% endfor %}"
    html = engines["django"].from_string(columns).render({"columns": [DEALS[:2], DEALS[2:], []]})
    assert looked_up == [1] and html.count('class="card deal-card') == len(DEALS)
