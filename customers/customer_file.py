"""Reading and checking a customer file, before anything touches the database: CSV
(UTF-8, a BOM is fine) or XLSX, its columns (COLUMNS; only `name` is required), every
cell parsed, and the rows grouped per customer. Every error is collected with its file
line (the header is line 1) and column. customers.customer_import runs the import.

The exporter (crm_project.exports) puts an apostrophe before text that a spreadsheet
would run as a formula; it is taken off here, so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crm_project.dates import business_today
from crm_project.exports import FORMULA_TRIGGERS
from crm_project.spreadsheets import FileRejected, RowErrors, check_csv_head, csv_delimiter, header_name, xlsx_rows

from .models import Customer

CUSTOMER_COLUMNS = (
    "external_ref",
    "name",
    "kind",
    "tax_id",
    "industry",
    "activity_type",
    "has_branches",
    "employees",
    "client_type",
    "year_founded",
    "birthday",
    "city",
    "email",
    "phone",
    "manager",
    "acquisition_channel",
    "relationship_type",
    "psychotype",
    "notes",
    # The date of first contact, for customers migrated from another system (empty: now);
    # the KPIs' "created" and "potential" read it (reporting, issue 12).
    "created",
)
CONTACT_COLUMNS = ("contact_name", "contact_position", "contact_phone", "contact_email", "contact_birthday")
COLUMNS = CUSTOMER_COLUMNS + CONTACT_COLUMNS
REQUIRED_COLUMNS = ("name",)
# Customer fields written from the columns of the same name (manager is resolved apart).
PROFILE_FIELDS = tuple(name for name in CUSTOMER_COLUMNS if name not in ("external_ref", "manager", "created"))
CONTACT_FIELDS = {"contact_position": "position", "contact_phone": "phone", "contact_email": "email",
                  "contact_birthday": "birthday"}  # fmt: skip

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
# An XLSX is a zip: refuse, before parsing, one that would unpack beyond this.
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
XLSX_MAX_MEMBERS = 1_000

TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0", ""}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"[+-]?[0-9]+")


@dataclass
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (file line, cells as text), blank rows left out


#
# Reading
#


def read_customer_file(file, *, file_name: str) -> Sheet:
    """The rows of a .csv or .xlsx file (binary file object) as text, each with its
    file line. Raises FileRejected for anything that is not a readable sheet."""
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix not in ("csv", "xlsx"):
        raise FileRejected(_("Only .csv and .xlsx files can be imported."))
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(
            _("The file is larger than %(mb)s MB; split it into smaller files.") % {"mb": MAX_FILE_BYTES // 1024**2}
        )
    if not data:
        raise FileRejected(_("The file is empty."))
    records = _csv_records(data) if suffix == "csv" else _xlsx_records(data)
    rows = []
    header = None
    for line, cells in records:
        cells = [_unescape(cell) for cell in cells]
        if header is None:
            if any(cells):
                header = [header_name(cell) for cell in cells]
            continue
        if any(cells):
            rows.append((line, cells))
            if len(rows) > MAX_ROWS:
                raise FileRejected(
                    _("The file has more than %(rows)s rows; split it into smaller files.") % {"rows": f"{MAX_ROWS:,}"}
                )
    if header is None:
        raise FileRejected(_("The file is empty."))
    return Sheet(header=header, rows=rows)


def _unescape(text: str) -> str:
    """Take off the apostrophe our exporter puts before formula-like text."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def _csv_records(data: bytes):
    check_csv_head(data[:65536])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _("The file is not UTF-8 text (byte %(byte)s is not UTF-8). Save it as 'CSV UTF-8'.")
            % {"byte": f"{exc.start:,}"}
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text.split("\n", 1)[0]))
    start = 1
    try:
        for record in reader:
            # A quoted value may span lines: a record's line is the line it starts on.
            yield start, [cell.strip() for cell in record]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRejected(
            _("The CSV cannot be read at line %(line)s: %(error)s.") % {"line": start, "error": exc}
        ) from exc


def _xlsx_records(data: bytes):
    rows = xlsx_rows(data, max_uncompressed=XLSX_MAX_UNCOMPRESSED, max_members=XLSX_MAX_MEMBERS)
    return list(enumerate(rows, start=1))


#
# Checking one cell
#


class BadCell(Exception):
    pass


def quote_value(value: str) -> str:
    return f'"{value[:40]}…"' if len(value) > 40 else f'"{value}"'


def _text(limit: int | None):
    def parse(raw: str):
        if limit is not None and len(raw) > limit:
            raise BadCell(_("longer than %(limit)s characters") % {"limit": limit})
        return raw

    return parse


def _choice(choices):
    codes = {value.lower(): value for value, _label in choices}
    by_language: dict[str, dict[str, str]] = {}  # the labels, as the importer reads them, per language

    def known(language: str) -> dict[str, str]:
        if language not in by_language:
            by_language[language] = {**{str(label).lower(): value for value, label in choices}, **codes}
        return by_language[language]

    def parse(raw: str):
        if raw == "":
            return ""
        try:
            return known(get_language() or "")[raw.lower()]
        except KeyError:
            values = ", ".join(value for value, _label in choices)
            raise BadCell(
                _("not one of %(values)s: %(value)s") % {"values": values, "value": quote_value(raw)}
            ) from None

    return parse


def _boolean(raw: str):
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise BadCell(_("not yes or no: %(value)s") % {"value": quote_value(raw)})


def _whole(maximum: int):
    def parse(raw: str):
        if raw == "":
            return None
        if not _WHOLE.fullmatch(raw):
            raise BadCell(_("not a whole number: %(value)s") % {"value": quote_value(raw)})
        number = int(raw)
        if number < 0:
            raise BadCell(_("cannot be negative: %(value)s") % {"value": quote_value(raw)})
        if number > maximum:
            raise BadCell(_("too large: %(value)s") % {"value": quote_value(raw)})
        return number

    return parse


def _date(raw: str):
    if raw == "":
        return None
    candidate = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw
    if _ISO_DATE.fullmatch(candidate):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            pass
    raise BadCell(_("not a date (YYYY-MM-DD): %(value)s") % {"value": quote_value(raw)})


def _past_date(raw: str):
    value = _date(raw)
    if value is not None and value > business_today():
        raise BadCell(_("cannot be in the future"))
    return value


def _email(raw: str):
    if raw == "":
        return ""
    if len(raw) > 254:
        raise BadCell(_("longer than %(limit)s characters") % {"limit": 254})
    try:
        validate_email(raw)
    except ValidationError:
        raise BadCell(_("not a valid email address: %(value)s") % {"value": quote_value(raw)}) from None
    return raw


def _tax_id(raw: str):
    compact = "".join(raw.split())
    if len(compact) > 32:
        raise BadCell(_("longer than %(limit)s characters") % {"limit": 32})
    return compact


PARSERS = {
    "external_ref": _text(64),
    "name": _text(200),
    "kind": _choice(Customer.Kind.choices),
    "tax_id": _tax_id,
    "industry": _text(100),
    "activity_type": _choice(Customer.ActivityType.choices),
    "has_branches": _boolean,
    "employees": _whole(2_147_483_647),
    "client_type": _choice(Customer.ClientType.choices),
    "year_founded": _whole(32_767),
    "birthday": _date,
    "city": _text(100),
    "email": _email,
    "phone": _text(40),
    "manager": _text(150),
    "acquisition_channel": _choice(Customer.Channel.choices),
    "relationship_type": _choice(Customer.Relationship.choices),
    "psychotype": _choice(Customer.Psychotype.choices),
    "notes": _text(None),
    "created": _past_date,
    "contact_name": _text(200),
    "contact_position": _text(100),
    "contact_phone": _text(40),
    "contact_email": _email,
    "contact_birthday": _past_date,
}


#
# Checking the rows
#


@dataclass
class CustomerRows:
    """One customer of the file: its first line, parsed values, manager cell, contacts."""

    line: int
    ref: str | None
    values: dict
    manager: str | None  # None: no manager column
    contacts: list[tuple[int, dict]] = field(default_factory=list)
    created: date | None = None  # None: no created cell (now for a new customer, kept otherwise)


def parse_rows(sheet: Sheet, errors: RowErrors) -> tuple[list[CustomerRows], list[str]]:
    """Parse every cell and gather the rows into customers; (groups, ignored columns)."""
    columns = [name for name in sheet.header if name in COLUMNS]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in sheet.header]
    for name in duplicated:
        errors.add(1, name, _("the column appears more than once"))
    for name in missing:
        errors.add(1, name, _("this required column is missing"))
    ignored = [name for name in sheet.header if name and name not in COLUMNS]
    if errors:
        return [], ignored
    if not sheet.rows:
        errors.add(2, None, _("the file holds no rows"))
        return [], ignored
    positions = {name: index for index, name in enumerate(sheet.header) if name in COLUMNS}
    errors.positions = positions
    customer_columns = [name for name in CUSTOMER_COLUMNS if name in positions]
    contact_columns = [name for name in CONTACT_COLUMNS if name in positions]
    groups: list[CustomerRows] = []
    by_ref: dict[str, CustomerRows] = {}
    for line, cells in sheet.rows:
        raw = {name: cells[index] if index < len(cells) else "" for name, index in positions.items()}
        parsed = {}
        for name in customer_columns + contact_columns:
            try:
                parsed[name] = PARSERS[name](raw[name])
            except BadCell as bad:
                errors.add(line, name, str(bad))
        ref = parsed.get("external_ref") or None
        group = by_ref.get(ref) if ref else None
        if group is None:
            if "name" in parsed and not parsed["name"]:
                errors.add(line, "name", _("a value is required"))
            values = {name: parsed[name] for name in PROFILE_FIELDS if name in parsed}
            # A manager cell that could not be read is reported once, not again as unknown.
            manager = parsed["manager"] if "manager" in parsed else None
            group = CustomerRows(line=line, ref=ref, values=values, manager=manager, created=parsed.get("created"))
            groups.append(group)
            if ref:
                by_ref[ref] = group
        else:
            # A later row of the same customer repeats its values or leaves them empty.
            for name in customer_columns:
                if name == "external_ref" or raw[name] == "" or name not in parsed:
                    continue
                first = {"manager": group.manager, "created": group.created}.get(name, group.values.get(name))
                if parsed[name] != first:
                    errors.add(
                        line,
                        name,
                        _("differs from line %(line)s, the first row of %(ref)s")
                        % {"line": group.line, "ref": quote_value(ref)},
                    )
        if any(raw[name] for name in contact_columns):
            if not raw.get("contact_name"):
                errors.add(line, "contact_name", _("a contact needs a name"))
            elif "contact_name" in parsed:
                contact = {CONTACT_FIELDS[n]: parsed[n] for n in contact_columns if n in CONTACT_FIELDS and n in parsed}
                contact["name"] = parsed["contact_name"]
                _add_contact(group, line, contact, errors)
    return groups, ignored


def _add_contact(group: CustomerRows, line: int, contact: dict, errors: RowErrors) -> None:
    key = contact["name"].casefold()
    for other_line, other in group.contacts:
        if other["name"].casefold() == key:
            if other != contact:
                errors.add(
                    line,
                    "contact_name",
                    _("the same contact is on line %(line)s with other details") % {"line": other_line},
                )
            return
    group.contacts.append((line, contact))
