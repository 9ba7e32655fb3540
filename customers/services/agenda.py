"""The manager's agenda, its writes (domain.md section 2): interactions and the next
contact they plan, moving and cancelling planned contacts, handing an agenda over and
back, and greetings. Keyword-only and atomic, each the one way its change is made;
PlannedContact keeps its history through simple_history, with the acting user on every
row. Its reads are customers.selectors.agenda.
"""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from crm_project.dates import business_today

from ..access import directs_agenda_of, hand_over_targets
from ..models import Contact, Customer, Greeting, Holiday, Interaction, PlannedContact
from ..selectors.agenda import BIRTHDAY, PLANNED, falls_on, holiday_falls_on

HAND_OVER_OUTSIDE_TEAM = _("An agenda is handed over only within the team: pick an active manager of the same team.")


@transaction.atomic
def interaction_log(
    *,
    customer: Customer,
    manager,
    kind: str,
    summary: str,
    outcome: str = "",
    occurred_at=None,
    contact: Contact | None = None,
    next_date: date | None = None,
    next_purpose: str = "",
    next_product=None,
    completes: PlannedContact | None = None,
) -> Interaction:
    """Record a call, meeting, e-mail, letter or note with `customer` by `manager`.
    With `next_date`, plan the next contact on `manager`'s agenda (linked back through
    `planned_in`); with `completes`, mark that open planned contact done in this
    interaction. All or nothing. Called by the quick entry on the card and the agenda."""
    next_purpose = (next_purpose or "").strip()
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("This person is not a contact of the customer.")})
    if next_date is None and (next_purpose or next_product is not None):
        raise ValidationError({"next_date": _("Pick the day of the next contact.")})
    if next_date is not None and not next_purpose:
        raise ValidationError({"next_purpose": _("Say what the next contact is for.")})
    if next_product is not None and not next_product.is_active:
        raise ValidationError({"next_product": _("This product is no longer sold.")})
    if completes is not None:
        completes = PlannedContact.objects.select_for_update().get(pk=completes.pk)
        if completes.customer_id != customer.pk:
            raise ValidationError({"completes": _("That planned contact is for another customer.")})
        if completes.status != PLANNED:
            raise ValidationError({"completes": _("That planned contact is no longer open.")})

    interaction = Interaction(
        customer=customer,
        manager=manager,
        kind=kind,
        summary=summary,
        outcome=outcome or "",
        occurred_at=occurred_at or timezone.now(),
        contact=contact,
    )
    interaction.full_clean()
    interaction.save()
    if completes is not None:
        completes.status = PlannedContact.Status.DONE
        completes.done_in = interaction
        completes._history_user = manager
        completes.save(update_fields=["status", "done_in"])
    if next_date is not None:
        planned = PlannedContact(
            customer=customer,
            manager=manager,
            due_date=next_date,
            purpose=next_purpose,
            product=next_product,
            planned_in=interaction,
            # planned by a colleague covering a handed-over contact: it stays part of the
            # hand-over (keeps their access, goes back with the agenda)
            handed_over_from=(
                completes.handed_over_from if completes is not None and completes.manager_id == manager.pk else None
            ),
        )
        planned.full_clean()
        planned._history_user = manager
        planned.save()
    return interaction


@transaction.atomic
def planned_contact_move(*, contact: PlannedContact, to_date: date, actor) -> PlannedContact:
    """Move an open planned contact to another day (today or later). The history row
    keeps the old and the new date and who moved it. Called by the agenda's move action."""
    contact = PlannedContact.objects.select_for_update().get(pk=contact.pk)
    if contact.status != PLANNED:
        raise ValidationError(_("Only an open planned contact can be moved."))
    if to_date < business_today():
        raise ValidationError(_("Pick today or a later day."))
    if contact.due_date == to_date:
        return contact
    contact.due_date = to_date
    contact._history_user = actor
    contact._change_reason = "moved"
    contact.save(update_fields=["due_date"])
    return contact


@transaction.atomic
def planned_contact_cancel(*, contact: PlannedContact, actor) -> PlannedContact:
    """Take an open planned contact off the agenda without logging an interaction."""
    contact = PlannedContact.objects.select_for_update().get(pk=contact.pk)
    if contact.status != PLANNED:
        raise ValidationError(_("Only an open planned contact can be cancelled."))
    contact.status = PlannedContact.Status.CANCELLED
    contact._history_user = actor
    contact._change_reason = "cancelled"
    contact.save(update_fields=["status"])
    return contact


@transaction.atomic
def agenda_hand_over(*, from_user, to_user, actor, start: date | None = None, end: date | None = None) -> int:
    """Give `from_user`'s open planned contacts due in [start, end] (both ends included;
    open ends: everything) to `to_user`, e.g. while `from_user` is away. Each contact
    remembers `handed_over_from`, and through the access rule brings its customer into
    `to_user`'s scope. Returns how many contacts moved.

    `actor` is `from_user`, or a director of their team, or an administrator; the target
    must be in hand_over_targets(). One UPDATE and one history INSERT per batch
    (bulk_update_with_history) rather than a save() per row: a whole agenda can hold
    hundreds of contacts, and the history rows are still written, with `actor` as the user.
    """
    if actor.pk != from_user.pk and not directs_agenda_of(actor, from_user):
        raise PermissionDenied(_("You may hand over only your own agenda or one of your team's."))
    if not hand_over_targets(from_user=from_user, actor=actor).filter(pk=to_user.pk).exists():
        raise ValidationError({"to_user": HAND_OVER_OUTSIDE_TEAM})
    if start and end and start > end:
        raise ValidationError({"end": _("The range ends before it starts.")})
    contacts = PlannedContact.objects.select_for_update().filter(manager=from_user, status=PLANNED)
    if start:
        contacts = contacts.filter(due_date__gte=start)
    if end:
        contacts = contacts.filter(due_date__lte=end)
    contacts = list(contacts.order_by("pk"))
    for contact in contacts:
        contact.manager = to_user
        contact.handed_over_from = from_user
    if contacts:
        bulk_update_with_history(
            contacts,
            PlannedContact,
            ["manager", "handed_over_from"],
            batch_size=500,
            default_user=actor,
            default_change_reason="handed over",
        )
    return len(contacts)


@transaction.atomic
def agenda_hand_back(*, from_user, actor, holder=None) -> int:
    """End a hand-over: the open planned contacts handed over from `from_user` (those
    `holder` holds, or all of them) go back to `from_user`'s agenda, and with them the
    colleague's access to those customers. Done contacts stay as they were. `actor` is
    `from_user` (taking the agenda back), the holder (returning it), a director of
    either's team or an administrator. A history row per contact. Returns how many."""
    allowed = actor.pk in (from_user.pk, getattr(holder, "pk", None)) or directs_agenda_of(actor, from_user)
    if not allowed and holder is not None:
        allowed = directs_agenda_of(actor, holder)
    if not allowed:
        raise PermissionDenied(_("You may end only a hand-over of your own agenda, to you, or of your team's."))
    contacts = PlannedContact.objects.select_for_update().filter(handed_over_from=from_user, status=PLANNED)
    if holder is not None:
        contacts = contacts.filter(manager=holder)
    contacts = list(contacts.order_by("pk"))
    for contact in contacts:
        contact.manager = from_user
        contact.handed_over_from = None
    if contacts:
        bulk_update_with_history(
            contacts,
            PlannedContact,
            ["manager", "handed_over_from"],
            batch_size=500,
            default_user=actor,
            default_change_reason="handed back",
        )
    return len(contacts)


@transaction.atomic
def greeting_log(
    *, customer: Customer, occasion: str, occasion_date: date, actor, contact: Contact | None = None
) -> tuple[Greeting, bool]:
    """Record that `customer` (or its `contact`) was greeted on `occasion` ('birthday' or
    a holiday's name) falling on `occasion_date`. Once per occasion: a second call
    returns the first greeting and False. Called by the agenda's 'greeted' buttons."""
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError(_("This person is not a contact of the customer."))
    if occasion == BIRTHDAY:
        birthday = contact.birthday if contact is not None else customer.birthday
        if birthday is None or falls_on(birthday, occasion_date.year) != occasion_date:
            raise ValidationError(_("There is no birthday on that day."))
    elif not any(
        holiday_falls_on(holiday, occasion_date.year) == occasion_date
        for holiday in Holiday.objects.filter(name=occasion)
    ):
        raise ValidationError(_("There is no such holiday on that day."))
    # The unique constraint does not stop duplicates when contact is NULL (NULLs are
    # distinct in SQL), so two quick clicks are serialised on the customer's row.
    list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
    return Greeting.objects.get_or_create(
        customer=customer,
        contact=contact,
        occasion=occasion,
        occasion_date=occasion_date,
        defaults={"greeted_by": actor},
    )
