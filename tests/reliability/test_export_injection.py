"""EXP-01 on every export path: formula-like text in every text field of every row, then
every page (resolver-collected) downloaded as CSV and XLSX, and the dedicated exports.
No text cell may start with = + - @ TAB CR unless escaped with an apostrophe; numbers
stay numbers."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.reliability.hostile import every_page, fill_text_fields

# Every trigger is unit-tested on escape_cell (tests/crm_project/test_exports.py); here two
# of them prove that every export path goes through it.
FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(A1)"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def cells(response):
    kind = response.get("Content-Type", "")
    if kind.startswith("text/csv"):
        return [cell for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for cell in row], "csv"
    if "spreadsheetml" in kind:
        sheets = load_workbook(io.BytesIO(response.content)).worksheets
        return [c for sheet in sheets for row in sheet.iter_rows() for c in row if c.data_type == "s"], "xlsx"
    return None, None


@pytest.mark.parametrize("formula", FORMULAS)
def test_every_export_escapes_formula_like_text(formula, objects_of_mgr_a, admin_user, client_for):
    fill_text_fields([formula])
    client = client_for(admin_user)
    downloads, hostile_cells = set(), 0
    for name, url in every_page(objects_of_mgr_a):
        page = client.get(url)
        # a page offering downloads links to them with ?_export=
        offers = page.get("Content-Type", "").startswith("text/html") and b"_export=" in page.content
        for params in ({}, {"_export": "csv"}, {"_export": "xlsx"}) if offers else ({},):
            response = client.get(url, params) if params else page
            assert response.status_code < 500, name
            found, fmt = cells(response)
            if found is None:
                continue
            downloads.add((name, fmt))
            for cell in found:
                text = cell.value if fmt == "xlsx" else cell
                if text and str(text).lstrip("'").startswith(formula.strip()[:2]):
                    hostile_cells += 1
                assert not str(text or "").startswith(DANGEROUS), f"{name} {fmt}: {text!r}"
    # the tables' exports and the dedicated ones were all reached, with the hostile text in them
    assert len(downloads) >= 20, sorted(downloads)
    assert hostile_cells > 0
