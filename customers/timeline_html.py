"""The card's interactions as HTML, written in Python (issue 15).

The card lists up to 30 interactions, each through an include of
customers/_agenda_interaction.html: some fifteen variable lookups and filters a row, the
card's largest template cost for an active customer. The markup here is the include's,
character for character (tests/customers/test_timeline_html.py compares them for every
kind of row); the include stays for the row the quick entry prepends. Every value is
escaped.
"""

from django.template.defaultfilters import linebreaksbr
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime

from .agenda_row import escape_text


def interaction_row(item) -> str:
    """customers/_agenda_interaction.html for `item` (with manager and contact loaded)."""
    escape = escape_text  # conditional_escape, plain text through the standard library
    when = escape(formats.date_format(template_localtime(item.occurred_at), "j M Y H:i"))
    contact = f" with {escape(item.contact.name)}" if item.contact else ""
    outcome = (
        f'· <span class="badge text-bg-light border">{escape(item.get_outcome_display())}</span>'
        if item.outcome
        else ""
    )
    manager = escape(item.manager.get_full_name() or item.manager.username)
    summary = linebreaksbr(Truncator(item.summary).chars(300))  # escapes, as the filter chain does
    return (
        f'<li class="list-group-item" id="interaction-{item.pk}">\n'
        f'  <span class="text-muted">{when}</span> ·\n'
        f"  <strong>{escape(item.get_kind_display())}</strong>{contact}\n"
        f"  {outcome}\n"
        f'  · <span class="text-muted">{manager}</span>\n'
        f"  <div>{summary}</div>\n"
        f"</li>\n"
    )


def interaction_rows(interactions) -> SafeString:
    """The card timeline's loop: each row as the include draws it, then the loop's indent."""
    return mark_safe("".join(interaction_row(item) + "\n    " for item in interactions))  # noqa: S308 -- escaped above
