"""Write-side use cases of the customer profile: saving a customer with its contacts and
competitor links, and the fast bulk update that the import and the demo share. (The
file import itself is customers.customer_import.)"""

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from crm_project import hooks

from ..access import MANAGER, user_role
from ..models import Customer, PlannedContact
from ..segment_rules import segment_for


@transaction.atomic
def customer_save(*, form, contact_formset, competitor_formset, actor) -> Customer:
    """Save a valid CustomerForm and its contact and competitor formsets in one
    transaction; the customer's history row names `actor`. A customer a manager creates
    is theirs. An edit that changes no profile field writes no history row. A formset
    passed as None (not posted) leaves those rows as they are. Called by the customer
    create and edit pages."""
    customer = form.instance
    creating = customer.pk is None
    if creating and user_role(actor) == MANAGER:
        customer.manager = actor
    if creating or set(form.changed_data) - {"save_anyway"}:
        # The segment follows the from-birth attributes the form may have changed.
        customer.segment = segment_for(customer)
        customer._history_user = actor
        customer = form.save()
    if not creating and "manager" in form.changed_data:
        customers_reassigned(customer_ids=[customer.pk], actor=actor)
    for formset in (contact_formset, competitor_formset):
        if formset is not None:
            formset.instance = customer
            formset.save()
    return customer


#
# Bulk updates
#

UPDATE_BATCH = 500


def update_rows(model, objects: list, fields: list[str]) -> None:
    """UPDATE `fields` of `objects` (saved instances) with one prepared statement run for
    every row. Django's bulk_update builds a CASE expression per field and row, which
    takes 20 seconds for 10,000 customers against about one here. Values are prepared
    exactly as save() prepares them. Writes no history: for customers use
    customers_update_with_history."""
    columns = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    rows = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for column in columns] + [obj.pk]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPDATE_BATCH):
            cursor.executemany(sql, rows[start : start + UPDATE_BATCH])


@transaction.atomic
def customers_update_with_history(customers: list[Customer], fields: list[str], *, user=None, reason: str = "") -> None:
    """What simple_history's bulk_update_with_history does (the rows, then one history
    row per customer naming `user` and `reason`), without bulk_update's slowness.
    Called by the customer import and the demo profiles."""
    update_rows(Customer, customers, fields)
    Customer.history.bulk_history_create(
        customers, batch_size=UPDATE_BATCH, update=True, default_user=user, default_change_reason=reason
    )


#
# Reassignment: the open work follows the customer's manager
#

REASSIGNED = "reassigned"


@transaction.atomic
def customers_reassign(*, customers, manager, actor, reason: str = REASSIGNED) -> int:
    """Give `customers` to `manager` (None: the unassigned pool): one history row per
    customer whose manager changes (`actor`, `reason`), then customers_reassigned in the
    same transaction. Returns how many customers changed hands. Called by a deal opened
    on a pool customer (sales_pipeline.pipeline.deal_create) and by bulk reassignments."""
    ids = [customer.pk for customer in customers]
    manager_id = manager.pk if manager is not None else None
    changing = list(
        Customer.objects.select_for_update().filter(pk__in=ids).exclude(manager_id=manager_id).order_by("pk")
    )
    now = timezone.now()
    for customer in changing:
        customer.manager_id = manager_id
        customer.updated_at = now
    if changing:
        customers_update_with_history(changing, ["manager", "updated_at"], user=actor, reason=reason)
        customers_reassigned(customer_ids=[customer.pk for customer in changing], actor=actor, reason=reason)
    for customer in customers:  # the callers' instances say what the database now says
        customer.manager_id = manager_id
    return len(changing)


@transaction.atomic
def customers_reassigned(*, customer_ids, actor, reason: str = REASSIGNED) -> int:
    """THE reassignment rule, for customers whose manager was just changed in the caller's
    transaction (profile edit, import, admin, customers_reassign): their open planned
    contacts go to the new manager, and a hand-over of them ends (handed_over_from
    cleared), so the old manager and a covering colleague lose access; then the apps
    below move their own open work (hooks.CUSTOMERS_REASSIGNED: the open deals). Each
    moved row gets a history row naming `actor` and `reason`. A customer moved to the
    pool keeps its contacts and deals where they are. Set-based: one query per batch of
    customers, not per customer. Returns how many planned contacts moved."""
    ids = sorted(set(customer_ids))
    moved = 0
    for start in range(0, len(ids), UPDATE_BATCH):
        batch = ids[start : start + UPDATE_BATCH]
        contacts = list(
            PlannedContact.objects.select_for_update(of=("self",))
            .filter(customer_id__in=batch, status=PlannedContact.Status.PLANNED, customer__manager__isnull=False)
            .filter(~Q(manager=F("customer__manager")) | Q(handed_over_from__isnull=False))
            .annotate(new_manager_id=F("customer__manager"))
            .order_by("pk")
        )
        for contact in contacts:
            contact.manager_id = contact.new_manager_id
            contact.handed_over_from = None
        if contacts:
            bulk_update_with_history(
                contacts,
                PlannedContact,
                ["manager", "handed_over_from"],
                batch_size=UPDATE_BATCH,
                default_user=actor,
                default_change_reason=reason,
            )
        moved += len(contacts)
    if ids:
        for follow in hooks.get_hooks(hooks.CUSTOMERS_REASSIGNED):
            follow(customer_ids=ids, actor=actor, reason=reason)
    return moved
