"""The loyalty pages in another language: the templates' words, the models' choices and
the labels written in Python (forms, the point of sale's discount rule) all go through
translation. A fake French catalog of a few words (the project has none yet)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import Program, ScaleBracket
from tests import fake_catalog

from .helpers import points_program

pytestmark = pytest.mark.django_db

WORDS = {
    # templates
    "Points ledger": "Registre des points",
    "Point of sale": "Point de vente",
    # choices and model labels
    "Active": "Actif",
    "Bonus points": "Points bonus",
    "Adjustment": "Ajustement",
    # Python: a form's label, the discount rule, a chart's label
    "Points (negative takes away)": "Points (négatif : retire)",
    "%(program)s: %(percent)s%% from %(amount)s": "%(program)s : %(percent)s %% dès %(amount)s",
    "Card status saved.": "Statut de la carte enregistré.",
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


def test_the_card_page_in_french(cust_a, mgr_a, client_for, french):
    card = services.card_issue(program=points_program(name="Bonus club"), holder=cust_a)
    services.points_adjust(card=card, points=10, reason="Welcome")
    client = client_for(mgr_a)
    html = client.get(card.get_absolute_url()).content.decode()
    assert "Registre des points" in html and "Point de vente" in html  # the template
    assert 'id="card-status">Actif</span>' in html and "· Points bonus" in html  # the choices' labels
    assert "<td>Ajustement</td>" in html  # the ledger entry's kind
    assert "Points (négatif : retire)" in html  # the adjustment form's label, lazy
    for english in ("Points ledger", ">Active<", "Bonus points", "Points (negative takes away)"):
        assert english not in html, english
    followed = client.post(reverse("loyalty:card_status", args=[card.pk]), {"status": "active"}, follow=True)
    assert "Statut de la carte enregistré." in followed.content.decode()  # a message set in the view


def test_the_point_of_sale_states_the_scale_rule_in_french(cust_a, mgr_a, client_for, french):
    scale = Program.objects.create(name="Scale", kind=Program.Kind.SCALE)
    ScaleBracket.objects.create(program=scale, min_amount=Decimal("5000"), discount_percent=Decimal("6"))
    services.card_issue(program=scale, holder=cust_a)
    html = client_for(mgr_a).get(reverse("loyalty:pos"), {"q": cust_a.name, "amount": "5000"}).content.decode()
    assert "Scale : 6.00 % dès 5000.00" in html
    assert "Scale: 6.00% from 5000.00" not in html
