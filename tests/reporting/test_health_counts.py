"""Process health's own checks, counted against the records themselves: the deal checks over
the deals a user sees (their own and their customers'), the interactions of the last 90
days (from the first instant of that day, local time) followed by a planned contact, and
the drill-down listing the ones that pull a share down."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm_project.dates import business_today
from customers.models import Interaction, PlannedContact
from reporting import health
from sales_pipeline.models import Deal, RefusalReason
from tests.factories import CustomerFactory


@pytest.fixture
def records(mgr_a, mgr_b, mgr_c):
    ours, colleague, elsewhere = (
        CustomerFactory(manager=mgr_a, name="Ours"),
        CustomerFactory(manager=mgr_b, name="Colleague's"),
        CustomerFactory(manager=mgr_c, name="Elsewhere"),
    )
    reason = RefusalReason.objects.create(stage=1, text="Too dear")
    offered = date(2026, 1, 5)
    shapes = [
        {"status": "lost", "lost_reason": reason},
        {"status": "lost"},
        {"status": "won", "survey_sent": offered},
        {"status": "won"},
        {"offer_sent": offered, "offer_expires": offered + timedelta(days=30)},
        {"offer_sent": offered},
        {},
    ]
    n = 0
    # each shape as the deal of every pairing of its manager and its customer's manager
    for manager in (mgr_a, mgr_b, mgr_c):
        for customer in (ours, colleague, elsewhere):
            for fields in shapes:
                n += 1
                Deal.objects.create(customer=customer, manager=manager, title=f"Deal {n}", sale_type="long_push",
                                    **fields)  # fmt: skip
    since = business_today() - timedelta(days=health.RECENT_DAYS)
    first_instant = timezone.make_aware(datetime.combine(since, time.min))
    moments = [
        first_instant - timedelta(seconds=1),  # the day before: not counted
        first_instant,
        first_instant + timedelta(minutes=30),  # the UTC date may still be the day before
        timezone.now() - timedelta(days=1),
    ]
    for manager, customer in ((mgr_a, ours), (mgr_b, colleague), (mgr_c, elsewhere)):
        for k, moment in enumerate(moments):
            for planned in (False, True):
                interaction = Interaction.objects.create(
                    customer=customer, manager=manager, summary=f"Call {k}", occurred_at=moment
                )
                if planned:
                    PlannedContact.objects.create(
                        customer=customer, manager=manager, purpose="Next", due_date=since, planned_in=interaction
                    )
    # a planned contact planned in nothing makes no interaction "planned"
    PlannedContact.objects.create(customer=ours, manager=mgr_a, purpose="Loose", due_date=since)
    return since


def expected(user_managers: set[int], since: date) -> dict[str, tuple[int, int]]:
    deals = [
        d for d in Deal.objects.select_related("customer") if {d.manager_id, d.customer.manager_id} & user_managers
    ]
    counts = {
        "lost_with_reason": [d for d in deals if d.status == "lost"],
        "offers_with_expiry": [d for d in deals if d.offer_sent is not None],
        "closed_with_survey": [d for d in deals if d.status == "won"],
    }
    good = {
        "lost_with_reason": lambda d: d.lost_reason_id is not None,
        "offers_with_expiry": lambda d: d.offer_expires is not None,
        "closed_with_survey": lambda d: d.survey_sent is not None,
    }
    result = {key: (sum(map(good[key], rows)), len(rows)) for key, rows in counts.items()}
    planned = set(PlannedContact.objects.exclude(planned_in=None).values_list("planned_in_id", flat=True))
    recent = [
        i
        for i in Interaction.objects.all()
        if i.manager_id in user_managers and timezone.localtime(i.occurred_at).date() >= since
    ]
    result["contacts_planned"] = (sum(i.pk in planned for i in recent), len(recent))
    return result


@pytest.mark.parametrize("role", ["manager", "director"])
def test_process_health_counts_the_records_the_user_sees(role, records, mgr_a, mgr_b, dir_1, client_for):
    user = mgr_a if role == "manager" else dir_1
    managers = {mgr_a.pk} if role == "manager" else {mgr_a.pk, mgr_b.pk, dir_1.pk}
    checks = {c.key: c for c in client_for(user).get(reverse("reporting:health")).context["checks"]}
    want = expected(managers, records)
    assert {key: (checks[key].good, checks[key].total) for key in want} == want
    # the manager's own: 7 shapes x 5 (manager, customer's manager) pairings they are part of
    assert role == "director" or want["lost_with_reason"] == (5, 10)
    assert want["contacts_planned"][1] == 6 * (1 if role == "manager" else 2)  # 3 moments x 2, per manager


def test_the_drill_down_lists_the_recent_interactions_without_a_planned_contact(records, mgr_a, client_for):
    listing = client_for(mgr_a).get(reverse("reporting:health_records") + "?key=contacts_planned").context
    assert listing["count"] == 3
    assert sorted(text.split(": ")[0] for text, _url, _manager in listing["rows"]) == ["Ours"] * 3


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_the_drill_down_dates_an_interaction_by_the_local_day(zone, mgr_a, client_for, settings):
    """An interaction late in the local evening (or just after local midnight) is listed
    under the local day, not the UTC one."""
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        local_noon = timezone.make_aware(datetime.combine(business_today() - timedelta(days=2), time(12)))
        moment = local_noon.replace(hour=0, minute=30) if zone == "Europe/Moscow" else local_noon.replace(hour=23)
        Interaction.objects.create(customer=CustomerFactory(manager=mgr_a, name="Late"), manager=mgr_a,
                                   summary="Call", occurred_at=moment)  # fmt: skip
        assert moment.astimezone(UTC).date() != moment.date()  # the UTC day is another
        listing = client_for(mgr_a).get(reverse("reporting:health_records") + "?key=contacts_planned").context
    (text,) = [text for text, _url, _manager in listing["rows"]]
    assert text.endswith(f"{moment.date():%Y-%m-%d}")
