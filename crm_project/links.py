"""Links to one object by id, for pages that list thousands of rows: reverse() costs about
as much as rendering the rest of a row, so each URL name is reversed once (per script
prefix) and the id put in its place."""

from functools import cache

from django.urls import get_script_prefix, reverse

_SENTINEL = 2_147_483_647  # an id no row has; its digits are replaced by the real id


@cache
def _pattern(name: str, prefix: str) -> tuple[str, str]:
    url = reverse(name, args=[_SENTINEL])
    head, found, tail = url.rpartition(str(_SENTINEL))
    if not found:  # pragma: no cover - every name given here takes one integer id
        raise ValueError(f"{name} does not take an integer id")
    return head, tail


def id_url(name: str, pk: int) -> str:
    """reverse(name, args=[pk]) for a URL name whose only argument is an integer id."""
    head, tail = _pattern(name, get_script_prefix())
    return f"{head}{int(pk)}{tail}"
