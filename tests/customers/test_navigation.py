"""The page layout (templates/base.html, customers.context_processors.navigation): what a
person reads in it goes through translation, the role by its label."""

import pytest

from tests import fake_catalog

pytestmark = pytest.mark.django_db

WORDS = {
    "Agenda": "Agenda FR",
    "Customers": "Clients",
    "Deals": "Affaires",
    "Log out": "Se déconnecter",
    "Search": "Rechercher",
    "Menu": "Menu FR",
    "Skip to content": "Aller au contenu",
    "role\x04Sales manager": "Commercial",
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


def test_the_layout_shows_translated_navigation_labels_and_role(mgr_a, client_for, french):
    html = client_for(mgr_a).get("/customers/agenda/").content.decode()
    assert '<html lang="fr">' in html
    for word in ("Agenda FR", "Clients", "Affaires", "Se déconnecter", "Aller au contenu", "Commercial"):
        assert word in html, word
    assert 'placeholder="Rechercher  ( / )"' in html and 'aria-label="Menu FR"' in html
    assert ">Customers<" not in html and "Sales manager" not in html


def test_the_layout_in_the_default_language(mgr_a, client_for):
    html = client_for(mgr_a).get("/customers/agenda/").content.decode()
    assert '<html lang="en-gb">' in html
    assert ">Agenda</a>" in html and "· Sales manager" in html and 'placeholder="Search  ( / )"' in html
