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

The file is read and checked by customers.customer_file. Called by views.imports and the
import_customers command.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from crm_project import locks
from crm_project.dates import business_today
from crm_project.imports import in_chunks
from crm_project.spreadsheets import (
    FileRejected,
    RowErrors,
    file_error,
)

from .access import DIRECTOR, assignable_managers, sees_everything, user_role
from .customer_file import (
    COLUMNS,
    CONTACT_COLUMNS,
    BadCell,
    CustomerRows,
    Sheet,
    parse_rows,
    quote_value,
    read_customer_file,
)
from .forms import profile_errors
from .models import Contact, Customer, normalize_name
from .services.profiles import customers_reassigned, customers_update_with_history, update_rows

logger = logging.getLogger(__name__)

WRITE_BATCH = 500
IMPORT_LOCK = "customers.customer_import"


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
# Resolving the rows against the database
#


@dataclass
class _Plan:
    creates: list[Customer] = field(default_factory=list)
    new_contacts: list[tuple[Customer, Contact]] = field(default_factory=list)
    updates: list[Customer] = field(default_factory=list)
    update_fields: set = field(default_factory=set)
    unchanged: int = 0
    changed_contacts: list[Contact] = field(default_factory=list)
    contact_fields: set = field(default_factory=set)
    reassigned: list[int] = field(default_factory=list)  # ids of known customers given another manager


class _Scope:
    """Who may be touched and assigned by the importing user (None: the system)."""

    def __init__(self, user, usernames: list[str]):
        self.user = user
        self.assigns = user is None or sees_everything(user) or user_role(user) == DIRECTOR
        users = get_user_model().objects.filter(is_active=True)
        self.users = {}
        for chunk in in_chunks(usernames):
            self.users.update(users.filter(username__in=chunk).values_list("username", "pk"))
        if user is None:
            self.assignable = set(self.users)
        elif self.assigns:
            self.assignable = set(assignable_managers(user).filter(username__in=list(self.users))
                                  .values_list("username", flat=True))  # fmt: skip
        else:
            self.assignable = set()

    def manager_for(self, cell: str | None, current: Customer | None) -> int | None:
        """The manager id for a customer (current is None when creating); raises BadCell."""
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
            raise BadCell(_("unknown or inactive user %(user)s") % {"user": quote_value(cell)})
        wanted = self.users[cell]
        if current is not None and wanted == keep:
            return keep
        if self.assigns:
            if cell not in self.assignable:
                raise BadCell(_("not permitted: you cannot assign customers to %(user)s") % {"user": quote_value(cell)})
            return wanted
        if current is None and wanted == self.user.pk:
            return wanted
        raise BadCell(_("not permitted: a manager imports customers for themselves and cannot reassign them"))


def _plan(groups: list[CustomerRows], *, user, errors: RowErrors) -> _Plan:
    """Resolve the parsed customers against the database: what to create, update, keep."""
    refs = [group.ref for group in groups if group.ref]
    existing: dict[str, Customer] = {}
    for chunk in in_chunks(refs):
        existing.update(
            (c.external_ref, c) for c in Customer.objects.filter(external_ref__in=chunk).select_related("manager")
        )
    visible = set()
    if user is not None:
        ids = [customer.pk for customer in existing.values()]
        for chunk in in_chunks(ids):
            visible.update(Customer.objects.visible_to(user).filter(pk__in=chunk).values_list("pk", flat=True))
    usernames = sorted({group.manager for group in groups if group.manager})
    scope = _Scope(user, usernames)
    contacts: dict[tuple[int, str], Contact] = {}
    for chunk in in_chunks([customer.pk for customer in existing.values()]):
        for contact in Contact.objects.filter(customer_id__in=chunk).order_by("-pk"):
            contacts[(contact.customer_id, contact.name.casefold())] = contact  # the oldest wins
    from .segment_rules import active_segments, segment_for

    segments = active_segments()
    today = business_today()
    now = timezone.now()
    plan = _Plan()
    for group in groups:
        current = existing.get(group.ref) if group.ref else None
        if current is not None and user is not None and current.pk not in visible:
            message = _("not permitted: customer %(ref)s is outside your customers") % {"ref": quote_value(group.ref)}
            errors.add(group.line, "external_ref", message)
            continue
        try:
            manager_id = scope.manager_for(group.manager, current)
        except BadCell as bad:
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
            if "manager" in changed:
                plan.reassigned.append(customer.pk)
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
        result.errors = [file_error(_("You are not permitted to import customers."))]
        return result
    try:
        sheet = read_customer_file(file, file_name=file_name)
        result.rows_total = len(sheet.rows)
        if dry_run:
            _check_and_write(sheet, user=user, result=result, write=False)
        else:
            with transaction.atomic():
                # One customer import at a time: two files creating one external_ref must not race.
                locks.wait_in_transaction(IMPORT_LOCK)
                _check_and_write(sheet, user=user, result=result, write=True)
    except FileRejected as exc:
        result.errors = [file_error(str(exc))]
    except IntegrityError:
        logger.exception("Customer import of %s collided with a concurrent change", file_name)
        result.errors = [file_error(_("Customers changed while importing; nothing was imported. Run it again."))]
    except Exception:
        # The transaction has rolled back; the person gets a message, not a 500.
        logger.exception("Customer import of %s failed", file_name)
        result.errors = [file_error(_("The import stopped on an unexpected error; nothing was imported."))]
    result.seconds = time.monotonic() - started
    if result.errors:
        result.created = result.updated = result.unchanged = result.contacts_created = result.contacts_updated = 0
    logger.info(
        "Customer import of %s by %s%s: %s rows, %s created, %s updated, %s unchanged, %s errors",
        file_name, user or "system", " (dry run)" if dry_run else "", result.rows_total, result.created,
        result.updated, result.unchanged, len(result.errors),
    )  # fmt: skip
    return result


def _check_and_write(sheet: Sheet, *, user, result: ImportResult, write: bool) -> None:
    errors = RowErrors(COLUMNS)
    groups, result.ignored_columns = parse_rows(sheet, errors)
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
    for chunk in in_chunks(
        sorted({customer.pk for customer, _contact in plan.new_contacts if customer.pk is not None})
    ):
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
    if plan.reassigned:
        # their open planned contacts and deals follow, in the import's transaction
        customers_reassigned(customer_ids=plan.reassigned, actor=user, reason=reason)
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
    for chunk in in_chunks(ids, EXPORT_CHUNK):
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
