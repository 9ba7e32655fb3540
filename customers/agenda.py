"""The manager's agenda (domain.md section 2): interactions and the next contact they
plan, moving and handing over planned contacts, and the greetings calendar.

Services (write) come first: keyword-only, atomic, each the one way its change is made;
PlannedContact keeps its history through simple_history, with the acting user on every
row. Selectors (read) follow: each page asks for a fixed number of queries whatever the
number of rows. Views in customers/views/agenda.py call only these.
"""

import calendar
import operator
from datetime import date, timedelta
from functools import reduce

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from crm_project import hooks
from crm_project.dates import business_today

from .access import DIRECTOR, MANAGER, sees_everything, user_role
from .models import Contact, Customer, Greeting, Holiday, Interaction, PlannedContact, SalesTeam, TeamMembership
from .portrait import offer_next_for

BIRTHDAY = "birthday"  # Greeting.occasion for birthdays; holidays use their name
PLANNED = PlannedContact.Status.PLANNED

#
# Who may work on whose agenda
#


def directs_agenda_of(actor, user) -> bool:
    """Whether `actor` may act on `user`'s agenda as a superior: administrators (and
    anyone who sees everything) for anyone, a director for the managers of their teams."""
    if sees_everything(actor):
        return True
    if user_role(actor) != DIRECTOR:
        return False
    return SalesTeam.objects.filter(memberships__user=user, directors=actor).exists()


def hand_over_targets(*, from_user, actor) -> QuerySet:
    """Who may take over `from_user`'s agenda: the other active managers of their team,
    whoever hands it over (a director and an administrator too: the colleague covering
    must be one the team's director directs). A manager without a team has no one.
    `actor` is kept for the callers; the rule does not depend on it."""
    team = TeamMembership.objects.filter(user=from_user).values("team_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=MANAGER, team_membership__team_id__in=team)
        .exclude(pk=from_user.pk)
        .order_by("first_name", "last_name", "username")
    )


HAND_OVER_OUTSIDE_TEAM = _("An agenda is handed over only within the team: pick an active manager of the same team.")


#
# Services
#


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
        raise ValidationError({"contact": "This person is not a contact of the customer."})
    if next_date is None and (next_purpose or next_product is not None):
        raise ValidationError({"next_date": "Pick the day of the next contact."})
    if next_date is not None and not next_purpose:
        raise ValidationError({"next_purpose": "Say what the next contact is for."})
    if next_product is not None and not next_product.is_active:
        raise ValidationError({"next_product": "This product is no longer sold."})
    if completes is not None:
        completes = PlannedContact.objects.select_for_update().get(pk=completes.pk)
        if completes.customer_id != customer.pk:
            raise ValidationError({"completes": "That planned contact is for another customer."})
        if completes.status != PLANNED:
            raise ValidationError({"completes": "That planned contact is no longer open."})

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
                completes.handed_over_from
                if completes is not None and completes.manager_id == manager.pk
                else None
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
        raise ValidationError("Only an open planned contact can be moved.")
    if to_date < business_today():
        raise ValidationError("Pick today or a later day.")
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
        raise ValidationError("Only an open planned contact can be cancelled.")
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
        raise PermissionDenied("You may hand over only your own agenda or one of your team's.")
    if not hand_over_targets(from_user=from_user, actor=actor).filter(pk=to_user.pk).exists():
        raise ValidationError({"to_user": HAND_OVER_OUTSIDE_TEAM})
    if start and end and start > end:
        raise ValidationError({"end": "The range ends before it starts."})
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
        raise ValidationError("This person is not a contact of the customer.")
    if occasion == BIRTHDAY:
        birthday = contact.birthday if contact is not None else customer.birthday
        if birthday is None or falls_on(birthday, occasion_date.year) != occasion_date:
            raise ValidationError("There is no birthday on that day.")
    elif not any(
        holiday_falls_on(holiday, occasion_date.year) == occasion_date
        for holiday in Holiday.objects.filter(name=occasion)
    ):
        raise ValidationError("There is no such holiday on that day.")
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


#
# Selectors: the agenda's rows and their dossier
#


def with_last_interaction(contacts: QuerySet) -> QuerySet:
    """Annotate each planned contact with its customer's last interaction (last_at,
    last_kind, last_summary), in the same query."""
    last = Interaction.objects.filter(customer_id=OuterRef("customer_id")).order_by("-occurred_at", "-id")
    return contacts.annotate(
        last_at=Subquery(last.values("occurred_at")[:1]),
        last_kind=Subquery(last.values("kind")[:1]),
        last_summary=Subquery(last.values("summary")[:1]),
    )


def _open_contacts(user, viewer=None) -> QuerySet:
    contacts = PlannedContact.objects.filter(manager=user, status=PLANNED)
    if viewer is not None and viewer.pk != user.pk:
        contacts = contacts.filter(customer__in=Customer.objects.visible_to(viewer).values("pk"))
    return contacts


def agenda_contacts(user, *, viewer=None) -> QuerySet:
    """`user`'s open planned contacts with what a row shows. A `viewer` other than the
    owner (a director looking at a manager's agenda) gets only customers they see."""
    contacts = _open_contacts(user, viewer).select_related("customer", "product", "handed_over_from")
    return with_last_interaction(contacts).order_by("due_date", "customer__name", "pk")


def agenda_counts(user, day: date, today: date, *, viewer=None) -> dict[str, int]:
    """How many open contacts `user` has on `day` and overdue before `today` (not counting
    `day` twice when it is in the past), in one query: the page lists only the first ones."""
    overdue = Q(due_date__lt=today) & ~Q(due_date=day)
    return _open_contacts(user, viewer).aggregate(
        day=Count("pk", filter=Q(due_date=day)), overdue=Count("pk", filter=overdue)
    )


def agenda_day(user, day: date, *, viewer=None) -> QuerySet:
    """The open contacts `user` planned for `day`."""
    return agenda_contacts(user, viewer=viewer).filter(due_date=day)


def agenda_overdue(user, today: date, *, viewer=None) -> QuerySet:
    """The open contacts `user` should have made before `today`, oldest first."""
    return agenda_contacts(user, viewer=viewer).filter(due_date__lt=today)


def agenda_month(user, year: int, month: int, *, viewer=None) -> dict[date, int]:
    """Open planned contacts per day of the month: {day: count}, days without any left out."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    rows = (
        agenda_contacts(user, viewer=viewer)
        .filter(due_date__range=(first, last))
        .order_by()
        .values("due_date")
        .annotate(n=Count("pk"))
        .values_list("due_date", "n")
    )
    return dict(rows)


def agenda_dossier(contacts, *, today: date | None = None, viewer=None) -> list[PlannedContact]:
    """Evaluate planned contacts (from agenda_contacts or with_last_interaction) and give
    each its dossier: `offer_next` (products, from the portrait), `last_kind_label` and
    `dossier_items` (what other apps add through hooks.AGENDA_DOSSIER, such as the open
    deal, of what `viewer` may see). A fixed number of queries for any number of rows."""
    rows = list(contacts)
    customer_ids = {row.customer_id for row in rows}
    offers = offer_next_for(customer_ids, today=today) if rows else {}
    contributed = [hook(customer_ids, viewer=viewer) for hook in hooks.get_hooks(hooks.AGENDA_DOSSIER)] if rows else []
    kinds = dict(Interaction.Kind.choices)
    for row in rows:
        row.offer_next = offers.get(row.customer_id, [])
        row.last_kind_label = kinds.get(getattr(row, "last_kind", None) or "", "")
        row.dossier_items = [item for items in contributed for item in items.get(row.customer_id, [])]
    return rows


def hand_over_status(owner) -> dict[str, list[dict]]:
    """The hand-overs in force around `owner`'s agenda: `given` (their open contacts on
    colleagues' agendas) and `held` (colleagues' open contacts on theirs), each a list of
    {user_id, name, n} for the colleague. One query."""
    rows = (
        PlannedContact.objects.filter(
            Q(handed_over_from=owner) | Q(manager=owner, handed_over_from__isnull=False), status=PLANNED
        )
        .values(
            "manager",
            "manager__first_name",
            "manager__last_name",
            "manager__username",
            "handed_over_from",
            "handed_over_from__first_name",
            "handed_over_from__last_name",
            "handed_over_from__username",
        )
        .annotate(n=Count("pk"))
        .order_by("manager__username", "handed_over_from__username")
    )

    def entry(row, prefix):
        name = f"{row[prefix + '__first_name']} {row[prefix + '__last_name']}".strip()
        return {"user_id": row[prefix], "name": name or row[prefix + "__username"], "n": row["n"]}

    status = {"given": [], "held": []}
    for row in rows:
        if row["handed_over_from"] == owner.pk:
            status["given"].append(entry(row, "manager"))
        else:
            status["held"].append(entry(row, "handed_over_from"))
    return status


def planned_contact_row(pk: int, *, today: date | None = None, viewer=None) -> PlannedContact:
    """One planned contact with its dossier, to redraw an agenda row after an action."""
    contacts = PlannedContact.objects.filter(pk=pk).select_related("customer", "product", "handed_over_from")
    return agenda_dossier(with_last_interaction(contacts), today=today, viewer=viewer)[0]


#
# Selectors: birthdays and holidays
#


def falls_on(day: date, year: int) -> date:
    """The anniversary of `day` in `year`; 29 February falls on the 28th in other years."""
    if (day.month, day.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def holiday_falls_on(holiday: Holiday, year: int) -> date | None:
    if holiday.yearly:
        return falls_on(holiday.date, year)
    return holiday.date if holiday.date.year == year else None


def _window(today: date, days: int) -> dict[tuple[int, int], date]:
    """(month, day) -> the date it falls on in [today, today + days], across the year end;
    29 February maps to 28 February in a non-leap year. `days` is under a year."""
    window = {}
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        window[(day.month, day.day)] = day
        if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
            window[(2, 29)] = day
    return window


def _on_any(field: str, window) -> Q:
    return reduce(operator.or_, (Q(**{f"{field}__month": m, f"{field}__day": d}) for m, d in window))


def upcoming_birthdays(user, today: date, days: int = 14, *, viewer=None) -> list[dict]:
    """Birthdays in [today, today + days] of the contact persons of the customers `user`
    sees, and of person customers: dicts with date, customer, contact (None for a
    person customer), name, age and greeted, by date. Three queries."""
    window = _window(today, days)
    customers = Customer.objects.visible_to(user)
    if viewer is not None and viewer.pk != user.pk:
        customers = customers.visible_to(viewer)
    contacts = Contact.objects.filter(
        _on_any("birthday", window), customer__in=customers.values("pk"), birthday__isnull=False
    ).select_related("customer")
    persons = customers.filter(_on_any("birthday", window), kind=Customer.Kind.PERSON, birthday__isnull=False)
    entries = [
        {"customer": contact.customer, "contact": contact, "name": contact.name, "birthday": contact.birthday}
        for contact in contacts
    ]
    entries += [
        {"customer": person, "contact": None, "name": person.name, "birthday": person.birthday} for person in persons
    ]
    if not entries:
        return []
    greeted = set(
        Greeting.objects.filter(
            occasion=BIRTHDAY,
            occasion_date__range=(today, today + timedelta(days=days)),
            customer_id__in={entry["customer"].pk for entry in entries},
        ).values_list("customer_id", "contact_id", "occasion_date")
    )
    for entry in entries:
        birthday = entry["birthday"]
        entry["date"] = window[(birthday.month, birthday.day)]
        entry["age"] = entry["date"].year - birthday.year
        contact_id = entry["contact"].pk if entry["contact"] else None
        entry["greeted"] = (entry["customer"].pk, contact_id, entry["date"]) in greeted
    return sorted(entries, key=lambda entry: (entry["date"], entry["name"], entry["customer"].pk))


def upcoming_holidays(today: date, days: int = 14) -> list[dict]:
    """Holidays in [today, today + days]: dicts with date and holiday, by date. One query."""
    window = _window(today, days)
    holidays = Holiday.objects.filter(
        Q(yearly=True) & _on_any("date", window) | Q(yearly=False, date__range=(today, today + timedelta(days=days)))
    )
    entries = [{"date": window[(h.date.month, h.date.day)] if h.yearly else h.date, "holiday": h} for h in holidays]
    return sorted(entries, key=lambda entry: (entry["date"], entry["holiday"].name))


def holiday_greetings(user, holidays: list[dict], *, viewer=None, limit: int = 30) -> list[dict]:
    """For each upcoming holiday (from upcoming_holidays), `user`'s own customers still to
    greet: adds `total` (own customers), `left` (not greeted yet) and `customers` (the
    first `limit` of those left, by name). Two queries whatever the number of customers."""
    if not holidays:
        return []
    customers = Customer.objects.filter(manager=user)
    if viewer is not None and viewer.pk != user.pk:
        customers = customers.visible_to(viewer)
    flags = {
        f"greeted_{number}": Exists(
            Greeting.objects.filter(
                customer_id=OuterRef("pk"),
                contact__isnull=True,
                occasion=entry["holiday"].name,
                occasion_date=entry["date"],
            )
        )
        for number, entry in enumerate(holidays)
    }
    customers = customers.annotate(**flags)
    counts = customers.aggregate(
        total=Count("pk"), **{f"left_{name[8:]}": Count("pk", filter=Q(**{name: False})) for name in flags}
    )
    anyone_left = reduce(operator.or_, (Q(**{name: False}) for name in flags))
    to_greet = list(customers.filter(anyone_left).only("pk", "name").order_by("name", "pk")[:limit])
    return [
        {
            **entry,
            "total": counts["total"],
            "left": counts[f"left_{number}"],
            "customers": [customer for customer in to_greet if not getattr(customer, f"greeted_{number}")],
        }
        for number, entry in enumerate(holidays)
    ]
