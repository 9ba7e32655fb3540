"""crm_project.translation: the site language's catalog without its empty fallbacks."""

import gettext

from django.conf import settings
from django.utils import translation
from django.utils.translation import trans_real

from crm_project.translation import drop_empty_fallbacks

HEADER = {"": "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"}


def catalog(messages: dict) -> gettext.GNUTranslations:
    translations = gettext.GNUTranslations()
    translations._catalog = dict(messages)
    translations.plural = lambda n: int(n != 1)
    return translations


def chain(*catalogs):
    first, *rest = catalogs
    for following in rest:
        first.add_fallback(following)
    return first


def answers(translations) -> list[str]:
    return [
        translations.gettext("Agenda"),
        translations.gettext("Deals"),
        translations.gettext("Nowhere"),
        translations.ngettext("%d deal", "%d deals", 1),
        translations.ngettext("%d deal", "%d deals", 3),
        translations.pgettext("month", "May"),
    ]


def test_empty_fallbacks_leave_the_chain_and_every_answer_stays():
    def build():
        return chain(
            catalog({**HEADER, "Agenda": "Agenda (gb)"}),
            catalog(HEADER),
            catalog({}),
            catalog({**HEADER, "Deals": "Deals (second)", ("%d deal", 1): "%d deals (second)"}),
            catalog(HEADER),
        )

    before = answers(build())
    pruned = build()
    assert drop_empty_fallbacks(pruned) == 3
    assert answers(pruned) == before
    assert before[1] == "Deals (second)" and before[4] == "%d deals (second)"  # the kept fallback still answers
    kept, count = pruned._fallback, 0
    while kept is not None:
        count += 1
        kept = kept._fallback
    assert count == 1


def test_a_chain_with_nothing_to_drop_is_left_alone():
    translations = chain(catalog({**HEADER, "Agenda": "A"}), catalog({**HEADER, "Deals": "D"}))
    second = translations._fallback
    assert drop_empty_fallbacks(translations) == 0
    assert translations._fallback is second


def test_the_site_language_is_pruned_at_startup_and_translates_as_before():
    site = trans_real.translation(settings.LANGUAGE_CODE)
    node = site._fallback
    while node is not None:
        assert set(getattr(node, "_catalog", {"x": 1})) - {""}, "an empty fallback is left in the chain"
        node = node._fallback
    # still English, and the other languages keep their own chains
    assert translation.gettext("Log out") == "Log out"
    with translation.override("fr"):
        assert translation.gettext("Password") == "Mot de passe"
