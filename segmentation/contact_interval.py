"""The control point "contact interval exceeded" (domain.md section 5), per ABC class.

Every assigned customer whose current ABC class has an interval (ClassificationSettings:
for example A 30, B 60, C 90 days; unclassified customers never) is due a contact once
`interval` days have passed since the last interaction, or since the customer was created
when there is none: the control date is that day plus the interval, and the customer is
listed once the control date is before today (interval 30, last call 1 March: 31 March is
still fine, 1 April is overdue). Classes are the current ones: the newest snapshot on or
before today.

sales_pipeline must not import segmentation, so this is contributed to the control points
page (hooks.CONTROL_POINTS) and to the agenda (hooks.AGENDA_ROWS) through crm_project.hooks.
Two queries whatever the number of customers: the current date with the settings, the rows.
The rows come from ContactDue (contact_due.py), kept for the current classes, as index
range reads; until it holds the current run's classes, from the snapshot itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, DateField, Exists, F, Func, IntegerField, Q, Subquery, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm_project.hooks import AgendaRow
from crm_project.object_urls import object_url
from crm_project.prepared import Prepared
from customers.access import own_customers_scope, sees_own
from customers.models import Customer

from .models import ClassificationSettings, RecomputeRun
from .selectors import with_classes

LIMIT = 1000  # the control points page lists at most this many, most overdue first
AGENDA_LIMIT = 20  # the agenda, as for the pipeline's own control points
SLUG = "control-point-contact_interval"


@dataclass(frozen=True)
class ContactDue:
    customer_id: int
    customer_name: str
    manager_name: str
    abc: str
    interval: int
    last_contact: date | None
    due: date  # the control date that has passed


class _PlusDays(Func):
    """A date plus a whole number of days, as a date, on PostgreSQL and SQLite."""

    output_field = DateField()

    def __init__(self, expression, days: int):
        super().__init__(expression)
        self.days = int(days)

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} + %s)", [*params, self.days]

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"date({sql}, %s)", [*params, f"+{self.days} days"]


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


INTERVAL_FIELDS = ("contact_days_a", "contact_days_b", "contact_days_c")


def _current_run_row(today):
    saved = ClassificationSettings.objects.filter(pk=1)
    return (
        RecomputeRun.objects.filter(status=RecomputeRun.Status.DONE, as_of__lte=today)
        .order_by("-as_of")
        .annotate(saved=Exists(saved), **{name: Subquery(saved.values(name)[:1]) for name in INTERVAL_FIELDS})
        .values("as_of", "contact_due_filled", "saved", *INTERVAL_FIELDS)[:1]
    )


_CURRENT_RUN = Prepared(lambda *, today: _current_run_row(today), today=DateField())  # compiled once (issue 15)


def _current_run(today: date) -> tuple[date | None, bool, dict[str, int]]:
    """The date of the current classes (CustomerSnapshot.objects.latest_date), whether
    ContactDue holds them, and the contact intervals (ClassificationSettings.read()'s),
    in one query: the settings' row rides on the run's as subqueries."""
    rows = _CURRENT_RUN.rows(today=today)
    if not rows:
        return None, False, {}
    row = rows[0]
    # the saved row's intervals, else the defaults unsaved (as ClassificationSettings.read())
    days = {name: row[name] for name in INTERVAL_FIELDS} if row["saved"] else {}
    settings = ClassificationSettings(pk=1, **days)
    return row["as_of"], row["contact_due_filled"], settings.contact_intervals()


def contact_interval_overdue(*, user, today: date, manager=None, limit: int = LIMIT) -> list[ContactDue]:
    """The assigned customers `user` may see (of one `manager` if given) whose contact
    interval has passed, most overdue first, at most `limit`."""
    current, filled, intervals = _current_run(today)
    if not intervals:  # no classes yet, or no interval checked
        return []
    zone = timezone.get_current_timezone()
    if manager is not None and sees_own(user, manager):
        # the user's own customers (their agenda): compiled once a day (crm_project.prepared)
        shape = (today, current, filled, tuple(intervals.items()), zone, limit)
        rows = _OWN_OVERDUE.rows(*shape, manager=getattr(manager, "pk", manager))
    else:
        if manager is not None:
            customers = Customer.objects.filter(own_customers_scope(user, manager), manager=manager)
        else:
            customers = Customer.objects.visible_to(user).filter(manager__isnull=False)
        rows = _overdue(customers, today, current, filled, intervals, zone, limit)
    return [
        ContactDue(
            customer_id=row["pk"],
            customer_name=row["name"],
            manager_name=_full_name(row),
            abc=row["abc_class"],
            interval=intervals[row["abc_class"]],
            last_contact=timezone.localdate(row["last_contact"]) if row["last_contact"] else None,
            due=_as_date(row["due"]),
        )
        for row in rows
    ]


def _overdue(customers, today: date, current, filled: bool, intervals: dict[str, int], zone, limit: int):
    """`customers` whose contact interval has passed, most overdue first, as values."""
    if filled:
        # The kept rows (models.ContactDue): one index range per class over (abc, since).
        customers = customers.annotate(
            abc_class=F("contact_due__abc"),
            last_contact=F("last_interaction__occurred_at"),
            since=F("contact_due__since"),
        )
    else:
        # Not filled for the current classes (a run not followed by a fill yet): the same
        # list from the snapshot itself. The newest interaction from the row the
        # interaction triggers keep (LastInteraction): a join, not a MAX per customer.
        customers = with_classes(customers, current).annotate(
            last_contact=F("last_interaction__occurred_at"),
            since=Coalesce("last_contact", "created_at"),
        )
    # "more than n days": the last contact's day + n < today, i.e. it happened before the start of today - n.
    overdue = Q(pk__in=[])
    for abc, days in intervals.items():
        overdue |= Q(abc_class=abc, since__lt=_start_of(today - timedelta(days=days)))
    since_day = TruncDate("since", tzinfo=zone)
    due = Case(
        *(When(abc_class=abc, then=_PlusDays(since_day, days)) for abc, days in intervals.items()),
        output_field=DateField(),
    )
    return (
        customers.filter(overdue)
        .annotate(due=due)
        .order_by("due", "name", "pk")
        .values(
            "pk", "name", "abc_class", "last_contact", "due",
            "manager__username", "manager__first_name", "manager__last_name",
        )[:limit]
    )  # fmt: skip


_OWN_OVERDUE = Prepared(
    lambda today, current, filled, intervals, zone, limit, *, manager: _overdue(
        Customer.objects.filter(manager=manager), today, current, filled, dict(intervals), zone, limit
    ),
    manager=IntegerField(),
)


def _full_name(row: dict) -> str:
    return f"{row['manager__first_name']} {row['manager__last_name']}".strip() or row["manager__username"]


def _as_date(value) -> date:
    # SQLite's date() comes back as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _agenda_row(point: ContactDue, today: date, *, with_manager: bool) -> AgendaRow:
    if point.last_contact:
        text = _("Class %(abc)s, every %(days)d days; last %(last)s; %(over)d days over") % {
            "abc": point.abc, "days": point.interval, "last": date_format(point.last_contact, "j M Y"),
            "over": (today - point.due).days,
        }  # fmt: skip
    else:
        text = _("Class %(abc)s, every %(days)d days; never contacted; %(over)d days over") % {
            "abc": point.abc, "days": point.interval, "over": (today - point.due).days,
        }  # fmt: skip
    return AgendaRow(
        kind=_("Contact interval exceeded"),
        date=point.due,
        customer_id=point.customer_id,
        customer_name=point.customer_name,
        text=text,
        url=object_url("customers:customer_detail", point.customer_id),  # up to a thousand rows: no reverse() each
        overdue=True,
        slug=SLUG,
        detail=point.manager_name if with_manager else "",
    )


def control_point_rows(*, user, today: date, manager=None) -> list[AgendaRow]:
    """hooks.CONTROL_POINTS: the rows of the control points page, each naming its manager."""
    return [_agenda_row(p, today, with_manager=True) for p in contact_interval_overdue(user=user, today=today,
                                                                                     manager=manager)]  # fmt: skip


def agenda_rows(*, viewer, owner, today: date) -> list[AgendaRow]:
    """hooks.AGENDA_ROWS: `owner`'s customers due a contact, as `viewer` may see them."""
    points = contact_interval_overdue(user=viewer, today=today, manager=owner, limit=AGENDA_LIMIT)
    return [_agenda_row(p, today, with_manager=False) for p in points]
