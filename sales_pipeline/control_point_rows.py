"""The control points page's table rows, written in Python (issue 15).

The page lists up to a thousand control points; through the template engine each row cost
a dozen variable lookups, a date filter and a stage label (about 0.1 ms a row, most of
the page's rendering). Here a row is one format string with every value escaped
(`conditional_escape`) and each date formatted once per page. The HTML is the template's,
less the whitespace between cells.
"""

from html import escape

from django.utils.formats import date_format
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from crm_project.object_urls import object_url_for

from .control_points import KINDS, ControlPoint
from .models import Stage

ROW = (
    '<tr class="control-point control-point-{kind}">'
    '<td class="text-nowrap">{due}</td>'
    "<td>{label}</td>"
    '<td><a href="{deal_url}">{title}</a></td>'
    '<td><a href="{customer_url}">{customer}</a></td>'
    "<td>{stage}</td>"
    '<td class="text-end">{days}</td></tr>'
)


def control_point_rows(points: list[ControlPoint]) -> SafeString:
    """The <tr> of each point: due date, what, deal, customer, stage, days over."""
    labels = {kind: conditional_escape(label) for kind, label in KINDS.items()}
    kinds = {kind: conditional_escape(kind) for kind in KINDS}
    stages = {stage.value: conditional_escape(stage.label) for stage in Stage}
    # Each address's shape read once for the table (crm_project.object_urls), where the
    # points' properties read the script prefix and URLconf again for every row.
    deal_url = object_url_for("sales_pipeline:deal_detail")
    customer_url = object_url_for("customers:customer_detail")
    days: dict = {}
    rows = []
    for point in points:
        due = days.get(point.due)
        if due is None:
            due = days[point.due] = conditional_escape(date_format(point.due, "j M Y"))
        rows.append(
            ROW.format(
                kind=kinds[point.kind],
                due=due,
                label=labels[point.kind],
                # html.escape is conditional_escape's escaping of a plain str, without
                # the SafeString each call builds (the values here are plain text)
                deal_url=escape(deal_url(point.deal_id)),
                title=escape(point.title),
                customer_url=escape(customer_url(point.customer_id)),
                customer=escape(point.customer_name),
                stage=stages[point.stage],
                days=(point.today - point.due).days,  # point.days_overdue
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped
