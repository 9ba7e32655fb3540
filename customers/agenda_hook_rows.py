"""The agenda's table of what other apps put on it (crm_project.hooks.AGENDA_ROWS: control
points, complaints, surveys, tier changes), written in Python (issue 15).

A manager's agenda lists some seventy of these; through the template engine each row cost
a date filter, a URL tag and a dozen lookups. Here a row is one format string with every
value escaped and each date formatted once per page. The HTML is the template's
(customers/_agenda_hook_rows.html before), less the whitespace between cells.
"""

from django.utils.safestring import SafeString, mark_safe

from crm_project.object_urls import object_url_for

from .agenda_row import escape_text, formatted_day

ROW = (
    '<tr class="agenda-hook-row {slug}{overdue}">'
    '<td class="text-nowrap">{day}</td>'
    "<td>{kind}</td>"
    "<td>{customer}</td>"
    '<td><a href="{url}">{text}</a>{detail}</td></tr>'
)


def agenda_hook_rows(rows) -> SafeString:
    """The <tr> of each hooks.AgendaRow: due date, what, customer (linked), the text linked
    to its page and the detail."""
    escape = escape_text  # conditional_escape, plain text straight through the standard library's escape
    days: dict = {}
    parts = []
    customer_url = object_url_for("customers:customer_detail")  # the shape read once, not once a row
    for row in rows:
        day = days.get(row.date)
        if day is None:
            day = days[row.date] = escape(formatted_day(row.date, "j M Y")) if row.date else ""
        customer = ""
        if row.customer_id:
            url = customer_url(row.customer_id)
            customer = f'<a href="{escape(url)}">{escape(row.customer_name)}</a>'
        parts.append(
            ROW.format(
                slug=escape(row.slug),
                overdue=" table-danger" if row.overdue else "",
                day=day,
                kind=escape(row.kind),
                customer=customer,
                url=escape(row.url),
                text=escape(row.text),
                detail=f' <span class="text-muted">{escape(row.detail)}</span>' if row.detail else "",
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped
