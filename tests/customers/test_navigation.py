"""The page layout (templates/base.html, customers.context_processors.navigation): what a
person reads in it goes through translation, the role by its label."""

import gettext

import pytest
from django.utils import translation
from django.utils.translation import trans_real

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
    """A French catalog of a few words (the project has none yet), active for the test."""
    catalog = gettext.NullTranslations()
    catalog._catalog = dict(WORDS)
    catalog.gettext = lambda message: WORDS.get(message, message)
    catalog.pgettext = lambda context, message: WORDS.get(f"{context}\x04{message}", message)
    translation_object = trans_real.translation("fr")
    original = translation_object.gettext, translation_object.pgettext
    translation_object.gettext, translation_object.pgettext = catalog.gettext, catalog.pgettext
    with translation.override("fr"):
        yield
    translation_object.gettext, translation_object.pgettext = original


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
