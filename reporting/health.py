"""Process health: the method's self-diagnosis measured from the data (domain.md section 8).

Each check is a share (good / total) of records in the user's scope, graded '+' from its
HealthThreshold's `good`, '+/-' from `fair`, '-' below (admin-edited; 90 % and 70 % until
someone sets them). Other apps add checks through hooks.PROCESS_HEALTH (complaints with a
cause, ...). Every check links to the records that pull it down. Our own checks are read
from totals kept per manager by database triggers (migration 0004): a constant number of
queries over a few rows per manager, whatever the size of the base.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from crm_project import hooks
from crm_project.dates import business_today
from customers.access import counted_scope, figures_scope, managed_scope
from customers.models import Customer, Interaction, PlannedContact
from sales_pipeline.models import Deal

from .models import CustomerCheckTotal, DealCheckTotal, HealthThreshold, InteractionDayTotal

DEFAULT_GOOD, DEFAULT_FAIR = Decimal("0.900"), Decimal("0.700")
RECENT_DAYS = 90
RECORDS_SHOWN = 500


def grade(share: Decimal | None, good: Decimal, fair: Decimal) -> str:
    """'+', '+/-' or '-' for a share (0..1); '' when nothing was measured."""
    if share is None:
        return ""
    if share >= good:
        return "+"
    if share >= fair:
        return "+/-"
    return "-"


@dataclass
class GradedCheck:
    key: str
    label: str
    good: int
    total: int
    url: str
    grade: str = ""

    @property
    def share(self) -> Decimal | None:
        return (Decimal(self.good) / Decimal(self.total)).quantize(Decimal("0.0001")) if self.total else None

    @property
    def percent(self) -> Decimal | None:
        return None if self.share is None else (self.share * 100).quantize(Decimal("0.1"))


def _records_url(key: str) -> str:
    return reverse("reporting:health_records") + "?" + urlencode({"key": key})


def _since():
    return business_today() - timedelta(days=RECENT_DAYS)


def _start_of(day: date) -> datetime:
    """The first instant of `day` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


# The checks counted over the user's deals: key -> (label, which deals, the condition of a
# good one). graded_checks counts them all in one pass over the deals.
def _deal_checks() -> dict:
    return {
        "lost_with_reason": (
            _("Lost deals with a refusal reason"),
            Q(status=Deal.Status.LOST),
            Q(lost_reason__isnull=False),
        ),
        "offers_with_expiry": (
            _("Offers sent with an expiry date"),
            Q(offer_sent__isnull=False),
            Q(offer_expires__isnull=False),
        ),
        "closed_with_survey": (
            _("Won deals with the satisfaction survey sent"),
            Q(status=Deal.Status.WON),
            Q(survey_sent__isnull=False),
        ),
    }


# key -> (label, the records counted, the condition of a good one), in the page's order
def _definitions(user) -> dict:
    deals = Deal.objects.visible_to(user)
    # Interactions some planned contact was planned in: one hashed list for the count, where
    # an EXISTS probe per interaction of the 90 days cost 85 % of that query (issue 15).
    planned_in = PlannedContact.objects.filter(planned_in__isnull=False).values("planned_in_id")
    on_deals = {key: (label, deals.filter(which), good) for key, (label, which, good) in _deal_checks().items()}
    return {
        "lost_with_reason": on_deals["lost_with_reason"],
        "customers_with_segment": (
            _("Customers with a target segment"),
            Customer.objects.visible_to(user),
            Q(segment__isnull=False),
        ),
        "contacts_planned": (
            _("Interactions of the last 90 days followed by a planned contact"),
            # from the first instant of that day: the same rows as occurred_at__date__gte,
            # without converting every interaction's time to a date first
            Interaction.objects.filter(figures_scope(user), occurred_at__gte=_start_of(_since())),
            Q(pk__in=planned_in),
        ),
        "offers_with_expiry": on_deals["offers_with_expiry"],
        "closed_with_survey": on_deals["closed_with_survey"],
    }


def live_counts(user) -> dict[str, tuple[int, int]]:
    """(good, total) of each of our own checks counted from the records themselves: what
    the stored totals (stored_counts) must always equal; the tests compare the two. The
    deal checks from one aggregate over the user's deals, the others one query each."""
    deal_checks = _deal_checks()
    figures = {}
    for key, (_label, which, good) in deal_checks.items():
        figures[f"{key}_total"] = Count("pk", filter=which)
        figures[f"{key}_good"] = Count("pk", filter=which & good)
    sums = Deal.objects.visible_to_by_customer_keys(user).aggregate(**figures)
    counts = {key: (sums[f"{key}_good"], sums[f"{key}_total"]) for key in deal_checks}
    for key, (_label, records, condition) in _definitions(user).items():
        if key not in deal_checks:
            row = records.aggregate(total=Count("pk"), good=Count("pk", filter=condition))
            counts[key] = (row["good"], row["total"])
    return counts


# check key -> DealCheckTotal's (good, total) columns
_DEAL_TOTAL_COLUMNS = {
    "lost_with_reason": ("lost_with_reason", "lost"),
    "offers_with_expiry": ("offered_with_expiry", "offered"),
    "closed_with_survey": ("won_with_survey", "won"),
}


def stored_counts(user) -> dict[str, tuple[int, int]]:
    """live_counts read from the totals the triggers keep per manager (migration 0004): a
    few rows per manager the user sees, whatever the number of deals, customers and
    interactions (issue 15: the page counted every one of them, 89-91 ms at 50,000
    customers against 31-33 at 5,000)."""
    columns = {column for pair in _DEAL_TOTAL_COLUMNS.values() for column in pair}
    # a deal is the user's by its manager or its customer's manager (Deal.visible_to)
    deals = DealCheckTotal.objects.filter(managed_scope(user, "manager", "customer_manager"))
    sums = deals.aggregate(**{column: Sum(column) for column in columns})
    counts = {key: (sums[good] or 0, sums[total] or 0) for key, (good, total) in _DEAL_TOTAL_COLUMNS.items()}
    # the customers of the managers the user sees, plus those handed over to a manager
    # counted one by one: together Customer.visible_to (customers.access.counted_scope)
    counted, covered = counted_scope(user, manager="manager")
    row = CustomerCheckTotal.objects.filter(counted).aggregate(good=Sum("with_segment"), total=Sum("customers"))
    good, total = row["good"] or 0, row["total"] or 0
    if covered is not None:
        row = Customer.objects.filter(pk__in=covered).aggregate(
            good=Count("pk", filter=Q(segment__isnull=False)), total=Count("pk")
        )
        good, total = good + row["good"], total + row["total"]
    counts["customers_with_segment"] = (good, total)
    counts["contacts_planned"] = _recent_interaction_counts(user)
    return counts


def _recent_interaction_counts(user) -> tuple[int, int]:
    """(planned, all) of the interactions since the first instant of the first local day
    counted, from the stored UTC days, corrected live by the hours between that instant and
    the nearer UTC midnight (at most 12, read through the manager's time index): from the
    midnight before, the hours before the instant are taken off; from the one after, the
    hours up to it added."""
    start = _start_of(_since()).astimezone(UTC)
    midnight_before = datetime.combine(start.date(), time.min, tzinfo=UTC)
    if start - midnight_before <= timedelta(hours=12):
        first_day, sign, hours = start.date(), -1, (midnight_before, start)
    else:
        first_day, sign, hours = start.date() + timedelta(days=1), 1, (start, midnight_before + timedelta(days=1))
    scope = figures_scope(user)
    stored = InteractionDayTotal.objects.filter(scope, day__gte=first_day).aggregate(
        good=Sum("planned"), total=Sum("interactions")
    )
    live = Interaction.objects.filter(scope, occurred_at__gte=hours[0], occurred_at__lt=hours[1]).aggregate(
        good=Count("pk", filter=Exists(PlannedContact.objects.filter(planned_in=OuterRef("pk")))), total=Count("pk")
    )
    return (stored["good"] or 0) + sign * live["good"], (stored["total"] or 0) + sign * live["total"]


def graded_checks(request) -> list[GradedCheck]:
    user = request.user
    checks = []
    counts = stored_counts(user)
    for key, (label, _records, _condition) in _definitions(user).items():
        checks.append(GradedCheck(key, label, *counts[key], _records_url(key)))
    for fn in hooks.get_hooks(hooks.PROCESS_HEALTH):
        for check in fn(user) or []:
            checks.append(GradedCheck(check.key, check.label, check.good, check.total, check.url))
    thresholds = {t.key: t for t in HealthThreshold.objects.filter(key__in=[c.key for c in checks])}
    for check in checks:
        t = thresholds.get(check.key)
        check.grade = grade(check.share, t.good if t else DEFAULT_GOOD, t.fair if t else DEFAULT_FAIR)
    return checks


def records(user, key: str) -> dict | None:
    """The records of one of our own checks that are not as the method wants them."""
    definitions = _definitions(user)
    if key not in definitions:
        return None
    label, queryset, condition = definitions[key]
    bad = queryset.exclude(condition)
    if key == "customers_with_segment":
        rows = [(c.name, c.get_absolute_url(), c.manager) for c in bad.select_related("manager")[:RECORDS_SHOWN]]
    elif key == "contacts_planned":
        rows = [
            (f"{i.customer.name}: {i.get_kind_display()} {timezone.localdate(i.occurred_at):%Y-%m-%d}",
             i.customer.get_absolute_url(), i.manager)
            for i in bad.select_related("customer", "manager").order_by("-occurred_at")[:RECORDS_SHOWN]
        ]  # fmt: skip
    else:
        rows = [(d.title, d.get_absolute_url(), d.manager) for d in bad.select_related("manager")[:RECORDS_SHOWN]]
    return {"label": label, "rows": rows, "count": bad.count(), "shown": RECORDS_SHOWN}
