"""The address of one object's page without a full `reverse()` each time (issue 15).

`reverse()` costs about 100 microseconds on this machine (it reads the language, URLconf
and script prefix from asgiref locals several times); the agenda drew about 450
addresses a page and the deal board 260. Every one of these addresses is a fixed text
around one integer, so `object_url` reverses a view once with a sentinel number and
afterwards only puts the id in its place. The cache is keyed by script prefix and
URLconf, what `reverse()` reads; not by language, as no URL pattern is translated
(tests/crm_project/test_object_urls.py checks it). Template library
`crm_urls` (settings.TEMPLATES libraries): `{% object_url "app:view" pk %}`, and
`{% page_url "app:view" %}` for a view without arguments (the menu, the search box).
"""

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse

SENTINEL = "9070605040302010"  # a number no id reaches, found once in the reversed path
_templates: dict[tuple, str | None] = {}
_pages: dict[tuple, str] = {}


def object_url(viewname: str, pk) -> str:
    """reverse(viewname, args=[pk]) for a view whose only argument is an <int:...>."""
    if not isinstance(pk, int) or isinstance(pk, bool) or pk < 0:
        return reverse(viewname, args=[pk])
    key = (get_script_prefix(), get_urlconf(), viewname)
    shape = _templates.get(key, "")
    if shape == "":
        reversed_ = reverse(viewname, args=[int(SENTINEL)])
        # usable only if the number appears exactly once (never true of a prefix or a name)
        shape = _templates[key] = reversed_ if reversed_.count(SENTINEL) == 1 else None
    if shape is None:
        return reverse(viewname, args=[pk])
    return shape.replace(SENTINEL, str(pk))


def object_url_for(viewname: str):
    """object_url(viewname, pk) as a function of pk, with the script prefix, URLconf and
    the address's shape read once: for a page drawing the same link on many rows."""
    object_url(viewname, 0)  # the shape, in the cache
    shape = _templates.get((get_script_prefix(), get_urlconf(), viewname))
    if shape is None:
        return lambda pk: object_url(viewname, pk)

    def url(pk) -> str:
        if type(pk) is int and pk >= 0:
            return shape.replace(SENTINEL, str(pk))
        return object_url(viewname, pk)

    return url


def page_url(viewname: str) -> str:
    """reverse(viewname) for a view without arguments, reversed once."""
    key = (get_script_prefix(), get_urlconf(), viewname)
    url = _pages.get(key)
    if url is None:
        url = _pages[key] = reverse(viewname)
    return url


register = template.Library()


@register.simple_tag(name="object_url")
def object_url_tag(viewname, pk):
    return object_url(viewname, pk)


@register.simple_tag(name="page_url")
def page_url_tag(viewname):
    return page_url(viewname)
