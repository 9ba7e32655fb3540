"""Every CSV/XLSX download goes through here, so every one is escaped the same way.

Spreadsheet programs run a cell that starts with = + - @ (or a tab, CR or NUL before
one) as a formula; a leading apostrophe makes it text. Numbers stay numbers.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def escape_cell(value):
    """The cell as it should be written: text that could run as a formula gets a leading
    apostrophe; aware date-times become local time (spreadsheets have no time zones).
    A lazy translation is text too: openpyxl refuses it, and it must be escaped as text."""
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None, microsecond=0)
    return value


def _csv_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([escape_cell(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else escape_cell(cell) for cell in row])
    # The BOM lets Excel open UTF-8 names correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _xlsx_safe(value):
    # XLSX cannot hold most control characters at all; drop them rather than fail.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append([escape_cell(cell) for cell in header])
    for row in rows:
        sheet.append([_xlsx_safe(escape_cell(cell)) for cell in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    """A download of `rows` as CSV or XLSX; `fmt` must be one of CONTENT_TYPES."""
    content = _csv_bytes(header, rows) if fmt == "csv" else _xlsx_bytes(header, rows)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
