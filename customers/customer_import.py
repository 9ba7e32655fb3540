"""Customer import from CSV (UTF-8, a BOM is fine) or XLSX: all or nothing.

Every row is checked first and every error collected, each naming its file line (the
header is line 1) and its column; any error means nothing is written. A clean file is
written in one transaction. The columns are COLUMNS (only `name` is required); the
contact columns are optional, and several rows with the same external_ref add several
contacts to one customer (the later rows repeat the customer's values or leave them
empty). Re-importing updates customers by external_ref and contacts by name within
their customer, so nothing is duplicated; a row without external_ref always creates a
new customer. Unknown columns are ignored and listed.

Scope: `user=None` is the system (the command without --user) and may do anything.
Otherwise rows may update only customers the user sees. Directors and admins may name
any manager they may assign (an empty manager cell is the unassigned pool); a manager
creates customers for themselves (the manager cell empty or their own username) and
cannot reassign. Anything else is a "not permitted" row error.

The exporter (crm_project.exports) puts an apostrophe before text that a spreadsheet
would run as a formula; it is taken off here, so an export re-imports unchanged.
Called by views.imports and the import_customers command.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from crm_project.exports import FORMULA_TRIGGERS
from crm_project.spreadsheets import FileRejected, check_csv_head, csv_delimiter, header_name, xlsx_rows

from .access import DIRECTOR, sees_everything, user_role
from .forms import assignable_managers, profile_errors
from .models import Contact, Customer, normalize_name
from .services import customers_update_with_history, update_rows

logger = logging.getLogger(__name__)

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
MAX_ERRORS = 1_000
# An XLSX is a zip: refuse, before parsing, one that would unpack beyond this.
XLSX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
XLSX_MAX_MEMBERS = 1_000
WRITE_BATCH = 500
# Any constant: the same in every process that imports customers.
IMPORT_LOCK_ID = 7_301_962_246

TRUE_WORDS = {"yes", "y", "true", "1"}
FALSE_WORDS = {"no", "n", "false", "0", ""}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WHOLE = re.compile(r"[+-]?[0-9]+")


@dataclass
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (file line, cells as text), blank rows left out


@dataclass
class ImportResult:
    """The outcome. `errors` ({"line", "column", "message"}) is empty exactly when the
    import succeeded (or would have, for a dry run)."""

    file_name: str
    dry_run: bool = False
    rows_total: int = 0
    errors: list[dict] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # In every history row the import writes, so one import's changes can be found together.
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def ok(self) -> bool:
        return not self.errors


#
# Reading
#


def read_customer_file(file, *, file_name: str) -> Sheet:
    """The rows of a .csv or .xlsx file (binary file object) as text, each with its
    file line. Raises FileRejected for anything that is not a readable sheet."""
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if suffix not in ("csv", "xlsx"):
        raise FileRejected("Only .csv and .xlsx files can be imported.")
    data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(f"The file is larger than {MAX_FILE_BYTES // 1024**2} MB; split it into smaller files.")
    if not data:
        raise FileRejected("The file is empty.")
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
                raise FileRejected(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")
    if header is None:
        raise FileRejected("The file is empty.")
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
            f"The file is not UTF-8 text (byte {exc.start:,} is not UTF-8). Save it as 'CSV UTF-8'."
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text.split("\n", 1)[0]))
    start = 1
    try:
        for record in reader:
            # A quoted value may span lines: a record's line is the line it starts on.
            yield start, [cell.strip() for cell in record]
            start = reader.line_num + 1
    except csv.Error as exc:
        raise FileRejected(f"The CSV cannot be read at line {start}: {exc}.") from exc


def _xlsx_records(data: bytes):
    rows = xlsx_rows(data, max_uncompressed=XLSX_MAX_UNCOMPRESSED, max_members=XLSX_MAX_MEMBERS)
    return list(enumerate(rows, start=1))


#
# Checking one cell
#


class _Bad(Exception):
    pass


def _quote(value: str) -> str:
    return f'"{value[:40]}…"' if len(value) > 40 else f'"{value}"'


def _text(limit: int | None):
    def parse(raw: str):
        if limit is not None and len(raw) > limit:
            raise _Bad(f"longer than {limit} characters")
        return raw

    return parse


def _choice(choices):
    known = {}
    for value, label in choices:
        known[value.lower()] = value
        known[str(label).lower()] = value

    def parse(raw: str):
        if raw == "":
            return ""
        try:
            return known[raw.lower()]
        except KeyError:
            raise _Bad(f"not one of {', '.join(value for value, _ in choices)}: {_quote(raw)}") from None

    return parse


def _boolean(raw: str):
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise _Bad(f"not yes or no: {_quote(raw)}")


def _whole(maximum: int):
    def parse(raw: str):
        if raw == "":
            return None
        if not _WHOLE.fullmatch(raw):
            raise _Bad(f"not a whole number: {_quote(raw)}")
        number = int(raw)
        if number < 0:
            raise _Bad(f"cannot be negative: {_quote(raw)}")
        if number > maximum:
            raise _Bad(f"too large: {_quote(raw)}")
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
    raise _Bad(f"not a date (YYYY-MM-DD): {_quote(raw)}")


def _past_date(raw: str):
    value = _date(raw)
    if value is not None and value > timezone.localdate():
        raise _Bad("cannot be in the future")
    return value


def _email(raw: str):
    if raw == "":
        return ""
    if len(raw) > 254:
        raise _Bad("longer than 254 characters")
    try:
        validate_email(raw)
    except ValidationError:
        raise _Bad(f"not a valid email address: {_quote(raw)}") from None
    return raw


def _tax_id(raw: str):
    compact = "".join(raw.split())
    if len(compact) > 32:
        raise _Bad("longer than 32 characters")
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
# Checking the file
#


class _Errors:
    """Every error found; listed by line, then by the column's place in the file."""

    def __init__(self):
        self.found: list[tuple[int, int, str | None, str]] = []
        self.positions: dict[str, int] = {}

    def add(self, line: int, column: str | None, message: str) -> None:
        position = self.positions.get(column, COLUMNS.index(column) if column in COLUMNS else -1)
        self.found.append((line, position, column, message))

    def __bool__(self) -> bool:
        return bool(self.found)

    def as_list(self) -> list[dict]:
        ordered = sorted(self.found, key=lambda error: error[:2])
        errors = [{"line": line, "column": column, "message": text} for line, _, column, text in ordered[:MAX_ERRORS]]
        if len(ordered) > MAX_ERRORS:
            errors.append({"line": None, "column": None, "message": f"and {len(ordered) - MAX_ERRORS:,} more errors"})
        return errors


@dataclass
class _Group:
    """One customer of the file: its first line, parsed values, manager cell, contacts."""

    line: int
    ref: str | None
    values: dict
    manager: str | None  # None: no manager column
    contacts: list[tuple[int, dict]] = field(default_factory=list)
    created: date | None = None  # None: no created cell (now for a new customer, kept otherwise)


@dataclass
class _Plan:
    creates: list[Customer] = field(default_factory=list)
    new_contacts: list[tuple[Customer, Contact]] = field(default_factory=list)
    updates: list[Customer] = field(default_factory=list)
    update_fields: set = field(default_factory=set)
    unchanged: int = 0
    changed_contacts: list[Contact] = field(default_factory=list)
    contact_fields: set = field(default_factory=set)


def _in_chunks(values: list, size: int = 900):
    # SQLite allows only so many query parameters.
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _parse_rows(sheet: Sheet, errors: _Errors) -> tuple[list[_Group], list[str]]:
    """Parse every cell and gather the rows into customers; (groups, ignored columns)."""
    columns = [name for name in sheet.header if name in COLUMNS]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    missing = [name for name in REQUIRED_COLUMNS if name not in sheet.header]
    for name in duplicated:
        errors.add(1, name, "the column appears more than once")
    for name in missing:
        errors.add(1, name, "this required column is missing")
    ignored = [name for name in sheet.header if name and name not in COLUMNS]
    if errors:
        return [], ignored
    if not sheet.rows:
        errors.add(2, None, "the file holds no rows")
        return [], ignored
    positions = {name: index for index, name in enumerate(sheet.header) if name in COLUMNS}
    errors.positions = positions
    customer_columns = [name for name in CUSTOMER_COLUMNS if name in positions]
    contact_columns = [name for name in CONTACT_COLUMNS if name in positions]
    groups: list[_Group] = []
    by_ref: dict[str, _Group] = {}
    for line, cells in sheet.rows:
        raw = {name: cells[index] if index < len(cells) else "" for name, index in positions.items()}
        parsed = {}
        for name in customer_columns + contact_columns:
            try:
                parsed[name] = PARSERS[name](raw[name])
            except _Bad as bad:
                errors.add(line, name, str(bad))
        ref = parsed.get("external_ref") or None
        group = by_ref.get(ref) if ref else None
        if group is None:
            if "name" in parsed and not parsed["name"]:
                errors.add(line, "name", "a value is required")
            values = {name: parsed[name] for name in PROFILE_FIELDS if name in parsed}
            # A manager cell that could not be read is reported once, not again as unknown.
            manager = parsed["manager"] if "manager" in parsed else None
            group = _Group(line=line, ref=ref, values=values, manager=manager, created=parsed.get("created"))
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
                    errors.add(line, name, f"differs from line {group.line}, the first row of {_quote(ref)}")
        if any(raw[name] for name in contact_columns):
            if not raw.get("contact_name"):
                errors.add(line, "contact_name", "a contact needs a name")
            elif "contact_name" in parsed:
                contact = {CONTACT_FIELDS[n]: parsed[n] for n in contact_columns if n in CONTACT_FIELDS and n in parsed}
                contact["name"] = parsed["contact_name"]
                _add_contact(group, line, contact, errors)
    return groups, ignored


def _add_contact(group: _Group, line: int, contact: dict, errors: _Errors) -> None:
    key = contact["name"].casefold()
    for other_line, other in group.contacts:
        if other["name"].casefold() == key:
            if other != contact:
                errors.add(line, "contact_name", f"the same contact is on line {other_line} with other details")
            return
    group.contacts.append((line, contact))


class _Scope:
    """Who may be touched and assigned by the importing user (None: the system)."""

    def __init__(self, user, usernames: list[str]):
        self.user = user
        self.assigns = user is None or sees_everything(user) or user_role(user) == DIRECTOR
        users = get_user_model().objects.filter(is_active=True)
        self.users = {}
        for chunk in _in_chunks(usernames):
            self.users.update(users.filter(username__in=chunk).values_list("username", "pk"))
        if user is None:
            self.assignable = set(self.users)
        elif self.assigns:
            self.assignable = set(assignable_managers(user).filter(username__in=list(self.users))
                                  .values_list("username", flat=True))  # fmt: skip
        else:
            self.assignable = set()

    def manager_for(self, cell: str | None, current: Customer | None) -> int | None:
        """The manager id for a customer (current is None when creating); raises _Bad."""
        keep = current.manager_id if current is not None else None
        if cell is None or (cell == "" and not self.assigns):
            # No manager given: kept on update; on create the pool, or the manager themselves.
            if current is not None or self.assigns:
                return keep
            return self.user.pk
        if cell == "":
            return None
        if current is not None and current.manager_id is not None and cell == current.manager.get_username():
            return keep  # unchanged, even if that manager has left meanwhile
        if cell not in self.users:
            raise _Bad(f"unknown or inactive user {_quote(cell)}")
        wanted = self.users[cell]
        if current is not None and wanted == keep:
            return keep
        if self.assigns:
            if cell not in self.assignable:
                raise _Bad(f"not permitted: you cannot assign customers to {_quote(cell)}")
            return wanted
        if current is None and wanted == self.user.pk:
            return wanted
        raise _Bad("not permitted: a manager imports customers for themselves and cannot reassign them")


def _plan(groups: list[_Group], *, user, errors: _Errors) -> _Plan:
    """Resolve the parsed customers against the database: what to create, update, keep."""
    refs = [group.ref for group in groups if group.ref]
    existing: dict[str, Customer] = {}
    for chunk in _in_chunks(refs):
        existing.update(
            (c.external_ref, c) for c in Customer.objects.filter(external_ref__in=chunk).select_related("manager")
        )
    visible = set()
    if user is not None:
        ids = [customer.pk for customer in existing.values()]
        for chunk in _in_chunks(ids):
            visible.update(Customer.objects.visible_to(user).filter(pk__in=chunk).values_list("pk", flat=True))
    usernames = sorted({group.manager for group in groups if group.manager})
    scope = _Scope(user, usernames)
    contacts: dict[tuple[int, str], Contact] = {}
    for chunk in _in_chunks([customer.pk for customer in existing.values()]):
        for contact in Contact.objects.filter(customer_id__in=chunk).order_by("-pk"):
            contacts[(contact.customer_id, contact.name.casefold())] = contact  # the oldest wins
    from .segment_rules import active_segments, segment_for

    segments = active_segments()
    today = timezone.localdate()
    now = timezone.now()
    plan = _Plan()
    for group in groups:
        current = existing.get(group.ref) if group.ref else None
        if current is not None and user is not None and current.pk not in visible:
            message = f"not permitted: customer {_quote(group.ref)} is outside your customers"
            errors.add(group.line, "external_ref", message)
            continue
        try:
            manager_id = scope.manager_for(group.manager, current)
        except _Bad as bad:
            errors.add(group.line, "manager", str(bad))
            continue
        customer = current if current is not None else Customer(external_ref=group.ref, created_at=now)
        values = dict(group.values)
        changed = []
        if group.created is not None and timezone.localdate(customer.created_at) != group.created:
            # The start of that day in the business time zone.
            customer.created_at = timezone.make_aware(datetime.combine(group.created, datetime.min.time()))
            if current is not None:
                changed.append("created_at")
        if not values.get("kind"):
            values.pop("kind", None)  # empty: a company when new, unchanged when known
        changed += [name for name, value in values.items() if getattr(customer, name) != value]
        if customer.manager_id != manager_id:
            changed.append("manager")
        for name, value in values.items():
            setattr(customer, name, value)
        customer.manager_id = manager_id
        problems = profile_errors(
            kind=customer.kind,
            employees=customer.employees,
            has_branches=customer.has_branches,
            year_founded=customer.year_founded,
            birthday=customer.birthday,
            today=today,
        )
        for name, message in problems.items():
            errors.add(group.line, name if name in group.values else "kind", message[0].lower() + message[1:])
        if errors:
            continue  # nothing will be written: only look for more errors
        if current is None or changed:
            customer.normalized_name = normalize_name(customer.name)
            customer.segment = segment_for(customer, segments)
            customer.updated_at = now
        if current is None:
            plan.creates.append(customer)
        elif changed:
            plan.updates.append(customer)
            plan.update_fields.update(changed)
        else:
            plan.unchanged += 1
        for _line, values in group.contacts:
            known = contacts.get((customer.pk, values["name"].casefold())) if current is not None else None
            if known is None:
                contact = Contact(**values)
                plan.new_contacts.append((customer, contact))
                continue
            fields = [name for name, value in values.items() if name != "name" and getattr(known, name) != value]
            for name in fields:
                setattr(known, name, values[name])
            if fields:
                plan.changed_contacts.append(known)
                plan.contact_fields.update(fields)
    return plan


#
# Running an import
#


def customer_import_run(*, file, file_name: str, user=None, dry_run: bool = False) -> ImportResult:
    """Import customers (and their contacts) from `file`, a binary file object named
    `file_name`, all or nothing, as `user` (None: the system, every customer in scope).
    A dry run checks and counts but writes nothing."""
    started = time.monotonic()
    result = ImportResult(file_name=file_name, dry_run=dry_run)
    if user is not None and not user.has_perm("customers.add_customer"):
        result.errors = [_file_error("You are not permitted to import customers.")]
        return result
    try:
        sheet = read_customer_file(file, file_name=file_name)
        result.rows_total = len(sheet.rows)
        if dry_run:
            _check_and_write(sheet, user=user, result=result, write=False)
        else:
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # One customer import at a time: two files creating one external_ref must not race.
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_ID])
                _check_and_write(sheet, user=user, result=result, write=True)
    except FileRejected as exc:
        result.errors = [_file_error(str(exc))]
    except IntegrityError:
        logger.exception("Customer import of %s collided with a concurrent change", file_name)
        result.errors = [_file_error("Customers changed while importing; nothing was imported. Run it again.")]
    except Exception:
        # The transaction has rolled back; the person gets a message, not a 500.
        logger.exception("Customer import of %s failed", file_name)
        result.errors = [_file_error("The import stopped on an unexpected error; nothing was imported.")]
    result.seconds = time.monotonic() - started
    if result.errors:
        result.created = result.updated = result.unchanged = result.contacts_created = result.contacts_updated = 0
    logger.info(
        "Customer import of %s by %s%s: %s rows, %s created, %s updated, %s unchanged, %s errors",
        file_name, user or "system", " (dry run)" if dry_run else "", result.rows_total, result.created,
        result.updated, result.unchanged, len(result.errors),
    )  # fmt: skip
    return result


def _file_error(message: str) -> dict:
    return {"line": None, "column": None, "message": message}


def _check_and_write(sheet: Sheet, *, user, result: ImportResult, write: bool) -> None:
    errors = _Errors()
    groups, result.ignored_columns = _parse_rows(sheet, errors)
    # Checked against the database even when cells are bad, so that every error shows.
    plan = _plan(groups, user=user, errors=errors)
    if errors:
        result.errors = errors.as_list()
        return
    result.created, result.updated, result.unchanged = len(plan.creates), len(plan.updates), plan.unchanged
    result.contacts_created, result.contacts_updated = len(plan.new_contacts), len(plan.changed_contacts)
    if write:
        _write(plan, user=user, reason=f"Import {result.run_id} of {sheet_name(result.file_name)}")


def sheet_name(file_name: str) -> str:
    return file_name.replace("\\", "/").rsplit("/", 1)[-1][:80]


def _write(plan: _Plan, *, user, reason: str) -> None:
    """Every write of one import; the caller's transaction makes it all or nothing."""
    # The first contact of a customer that had none becomes its main contact.
    had_contacts = set()
    for chunk in _in_chunks(sorted({customer.pk for customer, _ in plan.new_contacts if customer.pk is not None})):
        had_contacts.update(Contact.objects.filter(customer_id__in=chunk).values_list("customer_id", flat=True))
    if plan.creates:
        created = bulk_create_with_history(
            plan.creates, Customer, batch_size=WRITE_BATCH, default_user=user, default_change_reason=reason
        )
        # Matched by position: on databases that return no ids, these are fresh objects.
        for customer, saved in zip(plan.creates, created, strict=True):
            customer.pk = saved.pk
    if plan.updates:
        fields = sorted(plan.update_fields | {"normalized_name", "segment", "updated_at"})
        customers_update_with_history(plan.updates, fields, user=user, reason=reason)
    new_contacts = []
    for customer, contact in plan.new_contacts:
        contact.customer_id = customer.pk
        if customer.pk not in had_contacts:
            contact.is_primary = True
            had_contacts.add(customer.pk)
        new_contacts.append(contact)
    Contact.objects.bulk_create(new_contacts, batch_size=WRITE_BATCH)
    if plan.changed_contacts:
        update_rows(Contact, plan.changed_contacts, sorted(plan.contact_fields))


#
# Exporting in the same columns
#

EXPORT_CHUNK = 2_000


def customer_export_rows(customers):
    """Rows in COLUMNS for `customers` (an ordered, already scoped queryset): one per
    contact, or one for a customer without contacts. Loaded EXPORT_CHUNK customers at a
    time, with their managers and contacts, so the query count grows by chunks only."""
    ids = list(customers.values_list("pk", flat=True))
    for chunk in _in_chunks(ids, EXPORT_CHUNK):
        batch = Customer.objects.filter(pk__in=chunk).select_related("manager").prefetch_related("contacts")
        loaded = {customer.pk: customer for customer in batch}
        for pk in chunk:
            customer = loaded[pk]
            values = [
                customer.external_ref or "",
                customer.name,
                customer.kind,
                customer.tax_id,
                customer.industry,
                customer.activity_type,
                "yes" if customer.has_branches else "no",
                customer.employees,
                customer.client_type,
                customer.year_founded,
                customer.birthday,
                customer.city,
                customer.email,
                customer.phone,
                customer.manager.get_username() if customer.manager else "",
                customer.acquisition_channel,
                customer.relationship_type,
                customer.psychotype,
                customer.notes,
                timezone.localdate(customer.created_at),
            ]
            contacts = list(customer.contacts.all())
            if not contacts:
                yield values + [""] * len(CONTACT_COLUMNS)
            for contact in contacts:
                yield values + [contact.name, contact.position, contact.phone, contact.email, contact.birthday]
