"""Control points: every overdue date of the pipeline, per manager (domain.md section 5).
Read by the control points page and the manager's agenda.

Each kind has a control date; "overdue" is decided against `today` (the business
date), with these exact edges:

* offer_expired: an open deal at Commercial offer whose offer_expires < today
  (the offer is still valid on its expiry day; listed from the day after).
* invoice_expired: an open deal at Payment or any later stage with money still due
  (paid < amount) and invoice_expires < today (payable on its expiry day; listed from the
  day after): moving on to Delivery does not make an unpaid invoice go away.
* event_passed: an open deal at Delivery or Closing whose event_date < today, i.e. the
  delivery or event is over and the deal has not been closed (not on the event day).
* survey_not_sent: a won deal with survey_date < today and no survey_sent date
  (the survey day itself is the day to send it).
* retry_reached: a deal lost at Presentation whose retry_date <= today (due on the day
  itself), until a newer deal is opened for that customer (created after it was closed;
  the deals' triggers keep these in RetryDue, migration 0014).

One query for all kinds (a UNION ALL), limited, whatever the number of deals. "Contact
interval exceeded" is per ABC class and for every assigned customer, so segmentation
computes it and adds it through crm_project.hooks.CONTROL_POINTS (segmentation/contact_interval.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import CharField, DateField, F, IntegerField, QuerySet, Value
from django.utils.translation import gettext_lazy as _

from crm_project.object_urls import object_url
from crm_project.prepared import Prepared
from customers.access import own_records_scope, sees_own

from .models import Deal, Stage
from .models.deals import DEAL_MANAGERS

LIMIT = 1000  # the page lists at most this many, most overdue first

KINDS = {
    "offer_expired": _("Offer expired"),
    "invoice_expired": _("Invoice expired"),
    "event_passed": _("Event passed without closing"),
    "survey_not_sent": _("Survey not sent"),
    "retry_reached": _("Retry date reached"),
}


@dataclass(frozen=True)
class ControlPoint:
    kind: str
    due: date  # the control date that has passed
    deal_id: int
    title: str
    customer_id: int
    customer_name: str
    manager_id: int
    manager_name: str
    stage: int
    today: date

    @property
    def label(self) -> str:
        return KINDS[self.kind]

    @property
    def days_overdue(self) -> int:
        return (self.today - self.due).days

    @property
    def stage_label(self) -> str:
        return Stage(self.stage).label

    # The page lists up to a thousand: links without a reverse() each.
    @property
    def deal_url(self) -> str:
        return object_url("sales_pipeline:deal_detail", self.deal_id)

    @property
    def customer_url(self) -> str:
        return object_url("customers:customer_detail", self.customer_id)


def _deals(user, manager) -> QuerySet:
    if manager is None:
        return Deal.objects.visible_to(user).order_by()
    # Deal.objects.visible_to(user) of one manager's deals: no scope to add on the user's own
    return Deal.objects.filter(own_records_scope(user, manager, *DEAL_MANAGERS), manager=manager).order_by()


def _branches(deals: QuerySet, today: date) -> dict[str, QuerySet]:
    """{kind: its overdue deals, each annotated with `due`, its control date}."""
    open_deals = deals.filter(status=Deal.Status.OPEN)
    return {
        "offer_expired": open_deals.filter(stage=Stage.OFFER, offer_expires__lt=today).annotate(due=F("offer_expires")),
        "invoice_expired": open_deals.filter(stage__gte=Stage.PAYMENT, invoice_expires__lt=today)
        .with_paid()
        .filter(amount__gt=F("paid"))
        .annotate(due=F("invoice_expires")),
        "event_passed": open_deals.filter(stage__in=[Stage.DELIVERY, Stage.CLOSING], event_date__lt=today).annotate(
            due=F("event_date")
        ),
        "survey_not_sent": deals.filter(
            status=Deal.Status.WON, survey_date__lt=today, survey_sent__isnull=True
        ).annotate(due=F("survey_date")),
        # The open retries the deal triggers keep (RetryDue): a range of its date index,
        # where the rule itself passed over every refused presentation and its newer deals.
        "retry_reached": deals.filter(
            status=Deal.Status.LOST, stage=Stage.PRESENTATION, retry_due__retry_date__lte=today
        ).annotate(due=F("retry_due__retry_date")),
    }


COLUMNS = [
    "pk", "title", "customer_id", "customer__name", "manager_id", "manager__first_name", "manager__last_name",
    "manager__username", "stage", "kind", "due",
]  # fmt: skip


def control_points(*, user, today: date, manager=None, kinds=None, limit: int = LIMIT) -> list[ControlPoint]:
    """The overdue control points of the deals `user` may see (of one `manager`'s deals
    if given), most overdue first, at most `limit`. One query (a UNION ALL of the kinds)."""
    if manager is not None and kinds is None and sees_own(user, manager):
        # the user's own deals (their agenda): the statement compiled once (crm_project.prepared)
        rows = _OWN_POINTS.rows(limit, manager=getattr(manager, "pk", manager), today=today)
    else:
        rows = _union(_deals(user, manager), today, kinds, limit)
    points = []
    for row in rows:
        full_name = f"{row['manager__first_name']} {row['manager__last_name']}".strip()
        points.append(
            ControlPoint(
                kind=row["kind"],
                due=row["due"],
                deal_id=row["pk"],
                title=row["title"],
                customer_id=row["customer_id"],
                customer_name=row["customer__name"],
                manager_id=row["manager_id"],
                manager_name=full_name or row["manager__username"],
                stage=row["stage"],
                today=today,
            )
        )
    return points


def _union(deals: QuerySet, today, kinds, limit: int) -> QuerySet:
    """The first `limit` overdue control points of `deals` as values(*COLUMNS), most overdue first."""
    branches = [
        queryset.annotate(kind=Value(kind, output_field=CharField())).values(*COLUMNS)
        for kind, queryset in _branches(deals, today).items()
        if kinds is None or kind in kinds
    ]
    if not branches:
        return Deal.objects.none().values(*COLUMNS)
    if connection.features.supports_slicing_ordering_in_compound:
        # The first `limit` of the union are among the first `limit` of each kind: each kind
        # walks its partial index (Deal.Meta) in due order and stops there, where the union
        # of every overdue deal, sorted, cost a pass over tens of thousands (PostgreSQL).
        # The outer query must not be a sliced one: an empty query (no part of the SQL) leads.
        branches = [branches[0].filter(pk__in=[]), *(branch.order_by("due", "pk")[:limit] for branch in branches)]
    union = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    return union.order_by("due", "kind", "pk")[:limit]


# One manager's deals seen by that manager (no scope to add: customers.access.own_records_scope)
_OWN_POINTS = Prepared(
    lambda limit, *, manager, today: _union(Deal.objects.filter(manager_id=manager).order_by(), today, None, limit),
    manager=IntegerField(),
    today=DateField(),
)


def by_manager(points: list[ControlPoint]) -> list[tuple[str, list[ControlPoint]]]:
    """[(manager name, their points)], managers by name."""
    grouped: dict[tuple[str, int], list[ControlPoint]] = {}
    for point in points:
        grouped.setdefault((point.manager_name, point.manager_id), []).append(point)
    return [(name, rows) for (name, _), rows in sorted(grouped.items())]


def counts_by_kind(points: list[ControlPoint]) -> list[tuple[str, str, int]]:
    """[(kind, label, number)] in KINDS order."""
    return [(kind, label, sum(1 for p in points if p.kind == kind)) for kind, label in KINDS.items()]


def deal_alerts(deal, today: date) -> list[str]:
    """The control points one deal of the board has passed, by the rules above (the deal
    annotated with `paid`, as Deal.objects.with_paid() does): the board's card shows them
    without a query per card."""
    alerts = []
    if deal.stage == Stage.OFFER and deal.offer_expires and deal.offer_expires < today:
        alerts.append(KINDS["offer_expired"])
    unpaid = deal.paid < deal.amount
    if deal.stage >= Stage.PAYMENT and deal.invoice_expires and deal.invoice_expires < today and unpaid:
        alerts.append(KINDS["invoice_expired"])
    if deal.stage in (Stage.DELIVERY, Stage.CLOSING) and deal.event_date and deal.event_date < today:
        alerts.append(KINDS["event_passed"])
    return alerts
