"""Reading uploaded CSV and XLSX files safely, for every importer.

What is shared is the hostile-file handling: type sniffing, the zip-bomb bound on
XLSX, XML entities refused (defusedxml is installed, so openpyxl parses with it), and
cells turned into the text a person saw. Each importer validates the values itself.
"""

import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext, ngettext

ZIP_MAGIC = b"PK\x03\x04"


class FileRejected(Exception):
    """The file as a whole cannot be read: wrong type, not UTF-8, too big, malformed."""


# Errors shown for one file; past this, one line says how many more there are.
MAX_ERRORS = 1_000


def file_error(message: str) -> dict:
    """An error about the whole file, in the shape of a row error."""
    return {"line": None, "column": None, "message": message}


class RowErrors:
    """Every error an importer finds, each naming its file line (the header is line 1) and
    its column; `as_list()` orders them by line and column and keeps the first MAX_ERRORS,
    then says how many more there were. Within a line, errors follow the columns' order
    in the file once `positions` is set ({column: index}), else the order of `columns`."""

    def __init__(self, columns=()):
        self.columns = list(columns)
        self.positions: dict[str, int] = {}
        self.found: list[tuple[int, int, str | None, str]] = []
        self.total = 0

    def add(self, line: int, column: str | None, message: str) -> None:
        position = self.positions.get(column, self.columns.index(column) if column in self.columns else -1)
        self.found.append((line, position, column, message))
        self.total += 1

    def count_more(self, number: int) -> None:
        """Errors found but not kept one by one (a vectorised check stops listing early)."""
        self.total += number

    def __bool__(self) -> bool:
        return self.total > 0

    def as_list(self) -> list[dict]:
        ordered = sorted(self.found, key=lambda error: error[:2])[:MAX_ERRORS]
        errors = [{"line": line, "column": column, "message": text} for line, _, column, text in ordered]
        if self.total > len(errors):
            more = self.total - len(errors)
            text = ngettext("and %(count)s more error", "and %(count)s more errors", more)
            errors.append(file_error(text % {"count": f"{more:,}"}))
        return errors


def header_name(value) -> str:
    """'Contact Name ' -> 'contact_name'."""
    return "_".join(str(value).strip().lower().replace("-", " ").split())


def csv_delimiter(first_line: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (European Excel)."""
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def check_csv_head(head: bytes) -> None:
    """Refuse what is plainly not a CSV text file, before parsing it."""
    if head.startswith(ZIP_MAGIC):
        raise FileRejected(gettext("This is a zip or XLSX file, not a CSV. Upload it with the .xlsx extension."))
    if b"\x00" in head:
        raise FileRejected(gettext("This is not a text file. Save the sheet as 'CSV UTF-8'."))


def xlsx_rows(source: bytes | str | Path, *, max_uncompressed: int, max_members: int) -> list[list[str]]:
    """The first sheet's rows as text. `source` is the file's bytes or its path."""
    import openpyxl

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not data.startswith(ZIP_MAGIC):
        raise FileRejected(gettext("This is not an XLSX file."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FileRejected(gettext("This is not a valid XLSX file.")) from exc
    # zipfile never inflates a member beyond its declared size, so the sum is a real bound.
    unpacked = sum(member.file_size for member in members)
    if len(members) > max_members or unpacked > max_uncompressed:
        raise FileRejected(
            gettext(
                "The XLSX unpacks to %(size)s MB in %(parts)s parts; the limit is %(limit)s MB. Save it as CSV instead."
            )
            % {
                "size": f"{unpacked / 1024**2:,.0f}",
                "parts": f"{len(members):,}",
                "limit": f"{max_uncompressed / 1024**2:,.0f}",
            }
        )
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # a wrong <dimension> in the file must not hide rows
            return [[cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    except Exception as exc:  # openpyxl and defusedxml raise many kinds; none is worth a 500
        from defusedxml import DefusedXmlException

        cause = exc
        while cause.__cause__ or cause.__context__:
            cause = cause.__cause__ or cause.__context__
        if isinstance(cause, DefusedXmlException):
            raise FileRejected(
                gettext("The XLSX file declares XML entities or a DTD, which are refused for safety.")
            ) from exc
        reason = gettext("The XLSX file cannot be read (%(error)s).") % {"error": type(exc).__name__}
        raise FileRejected(reason) from exc


def cell_text(value) -> str:
    """A cell as the text a person sees: numbers without float noise, dates in ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        # repr is the shortest text that reads back as this float: what Excel showed.
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()
