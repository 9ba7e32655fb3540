"""AC-04 export scope: every export the pages offer (list tables, the customer file,
segments, funnel, KPI tables and drill-downs, complaint statistics, process health), in
CSV and XLSX, downloaded by a manager and a director of the other team. Each holds
nothing of team T1's records, and a list's rows are exactly the reader's scoped
queryset. The export links are collected from every rendered page, so a new export is
checked without anyone listing it (single documents and attachments are id URLs, covered by
AC-01 in test_access_matrix.py); the same links opened by the administrator prove
that T1's records would be there if the scope were missing."""

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import urljoin

import pytest
from django.urls import resolve
from openpyxl import load_workbook

from complaints.models import Complaint
from crm_project.dates import business_today
from crm_project.views import ScopedListView
from loyalty.models import Card, Program
from sales_pipeline.models import Deal
from tests.factories import SettlementLineFactory, make_director
from tests.reliability.hostile import every_page

EXPORT_LINK = re.compile(r'href="([^"]*(?:_export=|/export/)[^"]*)"')
MARKER = "Alpha Works"  # every record of mgr_a's objects carries it (objects_of_mgr_a)


def rows_of(response) -> list[list[str]] | None:
    kind = response.get("Content-Type", "")
    if kind.startswith("text/csv"):
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    if "spreadsheetml" in kind:
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        return [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    return None


def export_links(client, objects) -> set[str]:
    """Every export URL linked from any page the client can open, in both formats."""
    links = set()
    for _, url in every_page(objects):
        page = client.get(url)
        if page.status_code != 200 or not page.get("Content-Type", "").startswith("text/html"):
            continue
        for href in EXPORT_LINK.findall(page.content.decode()):
            href = urljoin(url, html.unescape(href))  # "?_export=csv" is relative to the page
            links.add(href)
            for one, other in (("_export=csv", "_export=xlsx"), ("format=csv", "format=xlsx")):
                if one in href:
                    links.add(href.replace(one, other))
    return links


@pytest.fixture
def both_teams(objects_of_mgr_a, cust_c, mgr_a, mgr_c):
    """mgr_a's records (T1, all named Alpha Works...) and mgr_c's (T2), with sales last month
    and a deal each, so the KPI tables and their drill-downs have rows for both teams."""
    last_month = business_today().replace(day=1) - timedelta(days=1)
    for customer, manager in ((objects_of_mgr_a["customer"], mgr_a), (cust_c, mgr_c)):
        SettlementLineFactory(customer=customer, manager=manager, date=last_month, amount=500)
    Deal.objects.create(customer=cust_c, manager=mgr_c, title="Charlie Foods deal", sale_type="long_push")
    Complaint.objects.create(customer=cust_c, owner=mgr_c, description="Charlie Foods complaint")
    program = Program.objects.create(name="Charlie tiers", kind=Program.Kind.TIERED)  # programs are company-wide
    Card.objects.create(number="700000000021", program=program, holder=cust_c, issued_on=business_today())
    return objects_of_mgr_a


# Lists whose rows are not "every visible record of the model", with the reason; their
# exports are still checked for T1's records.
NOT_PLAIN_LISTS = {
    "customers:competitor_list": "the competitor directory is company-wide reference data, no customer in it",
    "segmentation:class_changes": "a row is a customer whose class differs between two recompute dates",
}


def _reader(name, mgr_c, team_2):
    return mgr_c if name == "mgr_c" else make_director("dir_2", team_2)


def _scoped_count(url, user) -> int | None:
    """The number of rows the list's export must hold: its model's visible_to(user)."""
    match = resolve(url.split("?")[0])
    view = getattr(match.func, "view_class", None)
    if view is None or not issubclass(view, ScopedListView):
        return None
    if match.view_name in NOT_PLAIN_LISTS:
        return None
    return view.model._default_manager.all().visible_to(user).count()


@pytest.mark.parametrize("reader", ["mgr_c", "dir_2"])
def test_every_export_holds_only_what_the_reader_may_see(reader, both_teams, mgr_c, team_2, admin_user, client):
    client.force_login(admin_user)
    admin_links = export_links(client, both_teams)
    leaking_if_unscoped = set()
    for link in admin_links:
        rows = rows_of(client.get(link))
        if rows is not None and any(MARKER in cell for row in rows for cell in row):
            leaking_if_unscoped.add(link.split("?")[0])

    user = _reader(reader, mgr_c, team_2)
    client.force_login(user)
    links = export_links(client, both_teams)
    downloads, compared = set(), 0
    for link in sorted(links):
        response = client.get(link)
        assert response.status_code in (200, 403, 404), link
        rows = rows_of(response)
        if rows is None:
            continue
        downloads.add(link.split("?")[0])
        text = "\n".join("\t".join(row) for row in rows)
        assert MARKER not in text and "mgr_a" not in text, link
        expected = _scoped_count(link, user)
        if expected is not None and "?_export=" in link:  # the unfiltered list: every visible row
            assert len(rows) - 1 == expected, (link, rows)
            compared += 1
    # the exports the reader reached include those that carry T1's records for the admin
    assert leaking_if_unscoped, "the admin's exports should show T1's records"
    assert len(leaking_if_unscoped & downloads) >= 5, (sorted(leaking_if_unscoped), sorted(downloads))
    assert compared >= 10, compared


def test_the_customer_list_export_is_the_list_also_when_filtered(both_teams, cust_c, mgr_c, client_for):
    from customers.models import Customer
    from tests.factories import CustomerFactory

    CustomerFactory(name="Charlie Two", manager=mgr_c, city="Leeds")
    client = client_for(mgr_c)
    rows = rows_of(client.get("/customers/", {"_export": "csv", "q": "Charlie"}))
    names = sorted(row[0] for row in rows[1:])
    visible = Customer.objects.visible_to(mgr_c).filter(name__icontains="Charlie")
    expected = sorted(visible.values_list("name", flat=True))
    assert names == expected == ["Charlie Foods", "Charlie Two"]
