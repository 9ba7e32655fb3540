"""{% agenda_row row %}: one agenda row, drawn in Python (customers.agenda_row);
{% agenda_rows rows %} a page's rows."""

from django import template

from ..agenda_hook_rows import agenda_hook_rows as render_hook_rows
from ..agenda_row import render_agenda_row, render_agenda_rows

register = template.Library()


@register.simple_tag(takes_context=True)
def agenda_row(context, row):
    """{% agenda_row row %} with the page's today, next, csrf_token and user, and what an
    htmx action put in the context (logged, next_contact, moved_to, move_form, error)."""
    return render_agenda_row(
        row,
        **_page(context),
        logged=context.get("logged"),
        next_contact=context.get("next_contact"),
        moved_to=context.get("moved_to"),
        move_form=context.get("move_form"),
        error=context.get("error") or "",
    )


@register.simple_tag(takes_context=True)
def agenda_rows(context, rows):
    """{% agenda_rows rows %}: the page's rows, one line each, as {% agenda_row %} draws
    them, with what they share (words, addresses, next, CSRF token) worked out once."""
    return render_agenda_rows(rows, **_page(context), separator="\n")


def _page(context) -> dict:
    """What every row reads from the page: today, next, the CSRF token and the user."""
    return {
        "today": context["today"],
        "next_url": context.get("next") or "",
        "csrf_token": str(context.get("csrf_token") or ""),
        "user_pk": context["user"].pk,
    }


@register.simple_tag
def agenda_hook_rows(rows):
    """{% agenda_hook_rows hook_rows %}: the rows other apps put on the agenda (customers.agenda_hook_rows)."""
    return render_hook_rows(rows)
