"""Issue 15: the agenda's rows from other apps drawn in Python (customers.agenda_hook_rows)."""

from datetime import date

from crm_project.hooks import AgendaRow
from crm_project.object_urls import object_url
from customers.agenda_hook_rows import agenda_hook_rows


def test_each_value_is_escaped_and_the_customer_linked():
    row = AgendaRow(
        kind="Overdue <complaint>", date=date(2026, 3, 5), customer_id=12, customer_name="Oak & Sons",
        text='#3 "Late"', url="/complaints/3/", overdue=True, slug="complaint-explicit", detail="<i>cold</i>",
    )  # fmt: skip
    assert str(agenda_hook_rows([row])) == (
        '<tr class="agenda-hook-row complaint-explicit table-danger"><td class="text-nowrap">5 Mar 2026</td>'
        "<td>Overdue &lt;complaint&gt;</td>"
        f'<td><a href="{object_url("customers:customer_detail", 12)}">Oak &amp; Sons</a></td>'
        '<td><a href="/complaints/3/">#3 &quot;Late&quot;</a> <span class="text-muted">&lt;i&gt;cold&lt;/i&gt;</span>'
        "</td></tr>"
    )


def test_a_row_without_customer_or_detail():
    row = AgendaRow(kind="Tier change", date=date(2026, 3, 5), customer_id=None, customer_name="", text="x", url="/c/")
    assert str(agenda_hook_rows([row])) == (
        '<tr class="agenda-hook-row "><td class="text-nowrap">5 Mar 2026</td><td>Tier change</td><td></td>'
        '<td><a href="/c/">x</a></td></tr>'
    )


def test_a_days_date_is_formatted_once_per_language_across_pages():
    from unittest import mock

    from django.utils import dateformat, translation
    from django.utils.formats import date_format

    from customers.agenda_row import _formatted

    # given rows on two days, and the formats already cached by an earlier page
    days = [date(2026, 3, 5), date(2026, 3, 5), date(2026, 4, 1)]
    rows = [AgendaRow(kind="k", date=day, customer_id=None, customer_name="", text="t", url="/u/") for day in days]
    _formatted.cache_clear()
    first = str(agenda_hook_rows(rows))
    # when the next page draws rows on the same days, then it formats no date again
    with mock.patch.object(dateformat, "format", wraps=dateformat.format) as formatted:
        again = str(agenda_hook_rows(rows))
    assert (again, formatted.call_count) == (first, 0)
    assert '<td class="text-nowrap">5 Mar 2026</td>' in first and '<td class="text-nowrap">1 Apr 2026</td>' in first
    # and another language gets its own words, as date_format writes them
    with translation.override("de"):
        german = str(agenda_hook_rows(rows))
        assert f'<td class="text-nowrap">{date_format(date(2026, 3, 5), "j M Y")}</td>' in german
    assert "Mär" in german
