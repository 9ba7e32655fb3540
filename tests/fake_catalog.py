"""A fake French catalog for tests: the project has no catalogs yet, so a test that a page
reads in another language gives the few words it checks."""

from contextlib import contextmanager

from django.utils import translation
from django.utils.translation import trans_real

NAMES = ("gettext", "pgettext", "ngettext", "npgettext")


@contextmanager
def french(words: dict[str, str], plurals: dict[tuple[str, str], tuple[str, str]] | None = None):
    """French active, with `words` (a message, or "context\\x04message", to its translation)
    and `plurals` ((singular, plural) to the two French forms); other messages stay as written."""
    plurals = plurals or {}

    def gettext(message):
        return words.get(message, message)

    def pgettext(context, message):
        return words.get(f"{context}\x04{message}", message)

    def ngettext(singular, plural, number):
        if (singular, plural) in plurals:
            return plurals[singular, plural][0 if number == 1 else 1]
        return gettext(singular if number == 1 else plural)

    def npgettext(context, singular, plural, number):
        if (singular, plural) in plurals:
            return plurals[singular, plural][0 if number == 1 else 1]
        return pgettext(context, singular if number == 1 else plural)

    catalog = trans_real.translation("fr")
    original = {name: getattr(catalog, name) for name in NAMES}
    for name, function in zip(NAMES, (gettext, pgettext, ngettext, npgettext), strict=True):
        setattr(catalog, name, function)
    try:
        with translation.override("fr"):
            yield
    finally:
        for name, function in original.items():
            setattr(catalog, name, function)
