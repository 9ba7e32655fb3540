"""The KPI table by manager's body rows, written in Python (issue 15).

Through the template engine each of the table's cells (15 columns, a row per manager, team
and the total) cost a dozen variable lookups and, for every non-zero figure, a {% url %}
reverse: a fifth of the dashboard's rendering. Here a row is a few format strings with
every value escaped (`conditional_escape`) and the drill-down's address reversed once.
The HTML is the template's, byte for byte (tests/reporting/test_views.py compares them).
"""

from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .kpi_table import Row

KIND_CLASS = {"team": " table-light", "total": " table-secondary fw-semibold"}


def kpi_table_rows(rows: list[Row], period_query: str) -> SafeString:
    """The <tr> of each row: its label, then each cell's figure, linked to the customers
    behind it when it has any."""
    escape = conditional_escape
    drill = f"{escape(reverse('reporting:kpi_drill'))}?{escape(period_query)}"
    out = []
    for row in rows:
        label, key = escape(row.label), escape(row.key)
        cells = []
        for cell in row.cells:
            shown = escape(cell["shown"])
            if cell["kpi"] and cell["value"]:
                shown = f'<a href="{drill}&amp;kpi={escape(cell["kpi"])}&amp;row={key}">{shown}</a>'
            cells.append(f'\n      <td class="text-end kpi-{escape(cell["key"])}">{shown}</td>\n      ')
        out.append(
            f'\n    <tr class="kpi-row-{escape(row.kind)}{KIND_CLASS.get(row.kind, "")}" data-row="{label}">'
            f'\n      <th scope="row">{label}</th>\n      {"".join(cells)}\n    </tr>\n  '
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
