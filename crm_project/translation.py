"""Translations that look a message up once, not seven times (issue 15).

Django merges every installed app's catalog for a language into one, and keeps each
app's fallbacks: for en-gb, six "en" catalogs holding only their header (Django's, the
admin's, ...). A message the merged catalog lacks, which is every message of an English
page since English is the source language, then walked those six before coming back
untranslated: about 5 µs a gettext, 100-odd per page (lazy labels, column headers,
choices). An empty catalog translates nothing, so leaving it out of the chain changes no
answer (gettext, ngettext and pgettext all end at the message itself, chosen by n as
before) and halves the cost.
"""

from django.conf import settings
from django.utils.translation import trans_real


def drop_empty_fallbacks(translation) -> int:
    """Take the fallbacks that hold no message out of `translation`'s chain, keeping the
    others in their order. Returns how many were dropped."""
    dropped = 0
    node = translation
    while node is not None:
        following = getattr(node, "_fallback", None)
        while following is not None and _is_empty(following):
            following = getattr(following, "_fallback", None)
            dropped += 1
        if getattr(node, "_fallback", None) is not following:
            node._fallback = following
        node = following
    return dropped


def _is_empty(catalog) -> bool:
    """A gettext catalog holding no message: nothing, or only its header (the "" entry,
    which Django's gettext never looks up)."""
    messages = getattr(catalog, "_catalog", None)
    return isinstance(messages, dict) and not (messages.keys() - {""})


def prune_default_language() -> int:
    """drop_empty_fallbacks on the site language's translation, which Django builds once
    per process and keeps (trans_real caches it); other languages keep their chains."""
    if not settings.USE_I18N:
        return 0
    return drop_empty_fallbacks(trans_real.translation(settings.LANGUAGE_CODE))
