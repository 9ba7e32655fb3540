"""The pipeline's pages in another language: the templates' words, the models' and
choices' labels and the texts written in Python (timeline, stage rules, board cards) all
go through translation. A French catalog of a few words stands in for the real one."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sales_pipeline.models import Stage
from sales_pipeline.services import deals as deal_services
from tests import fake_catalog
from tests.sales_pipeline.test_pipeline import advance, open_deal

pytestmark = pytest.mark.django_db

WORDS = {
    # templates
    "Timeline": "Chronologie",
    "No open deals here.": "Aucune affaire ouverte ici.",
    # models: a choices label (with its context), a stage, a field's verbose name
    "deal status\x04Open": "En cours",
    "Presentation": "Présentation",
    "meeting minutes sent": "compte rendu envoyé",
    "Long push (came with a need)": "Poussée longue",
    # Python: the timeline, the stage rules, the board card
    "Opened at %(stage)s": "Ouverte à l’étape %(stage)s",
    "the date the meeting minutes were sent": "la date du compte rendu",
    "Move on": "Avancer",
}
PLURALS = {
    ("%(days)s day here", "%(days)s days here"): ("%(days)s jour ici", "%(days)s jours ici"),
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS, PLURALS):
        yield


def test_the_deal_page_in_french(mgr_a, client_for, french):
    deal = open_deal(mgr_a)
    html = client_for(mgr_a).get(deal.get_absolute_url()).content.decode()
    assert ">Chronologie</h2>" in html  # a template's word
    assert ">En cours</span>" in html  # the status's label (choices, with a context)
    assert "1. Présentation</li>" in html  # the stage's label
    assert "Compte rendu envoyé" in html  # the stage form's label: the field's verbose name
    assert "Ouverte à l’étape Présentation" in html  # the timeline, written in Python
    assert "la date du compte rendu" in html  # what the stage still needs (deal_rules)
    for english in (">Timeline<", ">Open</span>", "Opened at", "Meeting minutes sent", "the meeting minutes"):
        assert english not in html, english


def test_the_board_in_french(mgr_a, client_for, french):
    open_deal(mgr_a)
    html = client_for(mgr_a).get(reverse("sales_pipeline:deal_board")).content.decode()
    assert "Aucune affaire ouverte ici." in html  # the template
    assert ">Poussée longue</option>" in html  # the sale type's label in the filter
    assert 'title="Avancer"' in html and "0 jours ici" in html  # the cards, written in Python
    assert "No open deals here." not in html and "days here" not in html


def test_amounts_read_in_the_readers_number_format(mgr_a, client_for, french):
    """floatformat:"2g" groups in the reader's format; floatformat:2|intcomma put English
    commas into French decimals ("1,234,50"). The timeline's payment, written in Python,
    has the French decimal comma too."""
    deal = advance(open_deal(mgr_a, lines=((Decimal("1234.50"), 1, 0),)), Stage.PAYMENT, mgr_a)
    deal_services.payment_record(deal=deal, date=timezone.localdate(), amount=Decimal("617.25"), actor=mgr_a)
    html = client_for(mgr_a).get(deal.get_absolute_url()).content.decode()
    assert '<th class="text-end" id="deal-amount">1\xa0234,50</th>' in html
    assert "1,234,50" not in html and "1,234.50" not in html
    assert "Payment of 617,25" in html and "617.25" not in html


def test_amounts_in_english(mgr_a, client_for):
    deal = advance(open_deal(mgr_a, lines=((Decimal("1234.50"), 1, 0),)), Stage.PAYMENT, mgr_a)
    deal_services.payment_record(deal=deal, date=timezone.localdate(), amount=Decimal("617.25"), actor=mgr_a)
    html = client_for(mgr_a).get(deal.get_absolute_url()).content.decode()
    assert '<th class="text-end" id="deal-amount">1,234.50</th>' in html and "Payment of 617.25" in html
