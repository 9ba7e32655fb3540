import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from crm_project.exports import escape_cell, export_response
from tests.factories import CustomerFactory

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\0=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_could_run_as_a_formula_gets_an_apostrophe(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Plain name", "", "1+1", Decimal("-12.50"), -3, 4.5, None])
def test_other_values_are_left_alone(value):
    assert escape_cell(value) == value


def test_aware_datetimes_become_local_naive_times(settings):
    settings.TIME_ZONE = "Europe/London"
    assert escape_cell(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 13, 0)


def test_csv_and_xlsx_keep_numbers_numeric_and_escape_text():
    rows = [["=cmd", Decimal("-5.25"), -7]]
    content = export_response("csv", "x", ["name", "amount", "count"], rows).content.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(content))) == [["name", "amount", "count"], ["'=cmd", "-5.25", "-7"]]
    xlsx = export_response("xlsx", "x", ["name", "amount", "count"], rows).content
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert [cell.value for cell in sheet[2]] == ["'=cmd", -5.25, -7]
    assert sheet["A2"].data_type == "s"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_customer_export_escapes_every_hostile_name(fmt, mgr_a, client_for):
    hostile = [text for text in HOSTILE if "\0" not in text]  # PostgreSQL text cannot hold NUL
    for text in hostile:
        CustomerFactory(name=text, manager=mgr_a)
    response = client_for(mgr_a).get(reverse("customers:customer_list"), {"_export": fmt})
    assert response.status_code == 200
    if fmt == "csv":
        names = [row[0] for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig")))][1:]
    else:
        names = [row[0].value for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(min_row=2)]
    # (XML turns CR into LF on the way back: still escaped)
    assert len(names) == len(hostile)
    assert all(name.startswith("'") for name in names)


def test_lazy_translations_are_written_as_escaped_text():
    from django.utils.translation import gettext_lazy

    rows = [[gettext_lazy("Lost deals with a refusal reason"), gettext_lazy("=1+1")]]
    sheet = load_workbook(io.BytesIO(export_response("xlsx", "x", ["a", "b"], rows).content)).active
    assert [cell.value for cell in sheet[2]] == ["Lost deals with a refusal reason", "'=1+1"]
