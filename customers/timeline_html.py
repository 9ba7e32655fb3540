"""The card's interactions and open planned contacts as HTML, written in Python (issue 15).

The card lists up to 30 interactions, each through an include of
customers/_agenda_interaction.html: some fifteen variable lookups and filters a row, the
card's largest template cost for an active customer. The markup here is the include's,
character for character (tests/customers/test_timeline_html.py compares them for every
kind of row); the include stays for the row the quick entry prepends. The planned
contacts likewise (customers/_agenda_planned.html's loop, for the card and its redraw after
the quick entry). Every value is escaped.
"""

from django.template.defaultfilters import linebreaksbr
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime, now, template_localtime
from django.utils.translation import gettext as _

from crm_project.object_urls import page_url

from .agenda_row import escape_text


def interaction_row(item) -> str:
    """customers/_agenda_interaction.html for `item` (with manager and contact loaded)."""
    escape = escape_text  # conditional_escape, plain text through the standard library
    when = escape(formats.date_format(template_localtime(item.occurred_at), "j M Y H:i"))
    # {% blocktranslate %}with {{ name }}{% endblocktranslate %}: the value escaped, the words as translated
    contact = " " + _("with %(name)s") % {"name": escape(item.contact.name)} if item.contact else ""
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


def planned_rows(planned_contacts, user) -> SafeString:
    """customers/_agenda_planned.html's loop over the open planned contacts (with manager and
    product): the date links to `user`'s agenda on the day when the contact is theirs, and a
    contact due before today (the business time zone's) is flagged overdue."""
    escape = escape_text
    today_iso = formats.date_format(localtime(now()), "Y-m-d")  # what {% now "Y-m-d" %} gave
    agenda = escape(page_url("customers:agenda"))
    overdue_badge = f'<span class="badge text-bg-danger">{escape(_("overdue"))}</span>'
    offer = _("offer %(product)s")
    days: dict = {}
    parts = []
    for pc in planned_contacts:
        due = pc.due_date
        if due not in days:
            days[due] = (formats.date_format(due, "Y-m-d"), escape(formats.date_format(due, "D j M Y")))
        iso, shown = days[due]
        when = f'<a href="{agenda}?day={escape(iso)}">{shown}</a>' if pc.manager_id == user.pk else shown
        overdue = overdue_badge if iso < today_iso else ""
        product = " · " + offer % {"product": f"<em>{escape(pc.product.name)}</em>"} if pc.product else ""
        manager = escape(pc.manager.get_full_name() or pc.manager.username)
        parts.append(
            f'\n    <li class="list-group-item">\n      {when}\n      {overdue}\n'
            f"      · {escape(pc.purpose)}{product}\n"
            f'      · <span class="text-muted">{manager}</span>\n    </li>\n  '
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped
