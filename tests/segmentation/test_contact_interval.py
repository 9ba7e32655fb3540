"""Issue 11, item 8: "contact interval exceeded" per ABC class (admin-edited), for every
assigned customer, computed in segmentation and shown through crm_project.hooks on the
control points page and the agenda."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from segmentation.contact_interval import contact_interval_overdue
from segmentation.models import ClassificationSettings, CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory

AS_OF = date(2026, 6, 30)  # the current snapshot
LAST_CALL = date(2026, 9, 1)


def _at(day, hour=10):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def classed(manager, abc, *, called=LAST_CALL, name=None):
    """A customer of `manager` with class `abc` in the current snapshot, last called on `called` (late evening)."""
    customer = CustomerFactory(manager=manager, **({"name": name} if name else {}))
    RecomputeRun.objects.get_or_create(as_of=AS_OF, defaults={"status": RecomputeRun.Status.DONE})
    CustomerSnapshot.objects.create(as_of=AS_OF, customer=customer, status="regular", abc=abc)
    if called:
        Interaction.objects.create(customer=customer, manager=manager, summary="Call", occurred_at=_at(called, 23))
    return customer


def due_ids(user, today, **kwargs):
    return [p.customer_id for p in contact_interval_overdue(user=user, today=today, **kwargs)]


@pytest.mark.parametrize(
    "abc,days", [("A", 30), ("B", 60), ("C", 90)], ids=["A-30-days", "B-60-days", "C-90-days"]
)
@pytest.mark.parametrize("offset,overdue", [(-1, False), (0, False), (1, True)])
def test_the_contact_interval_is_exceeded_per_abc_class_from_the_day_after(abc, days, offset, overdue, mgr_a):
    customer = classed(mgr_a, abc)  # no deal at all: every assigned customer counts
    points = contact_interval_overdue(user=mgr_a, today=LAST_CALL + timedelta(days=days + offset))
    assert ([p.customer_id for p in points] == [customer.pk]) is overdue
    if overdue:
        assert (points[0].due, points[0].interval, points[0].last_contact) == (
            LAST_CALL + timedelta(days=days), days, LAST_CALL,
        )  # fmt: skip


def test_unclassified_and_pool_customers_are_never_due(mgr_a):
    classed(mgr_a, "")  # no ABC class
    classed(None, "A", called=None)  # the unassigned pool
    assert due_ids(mgr_a, LAST_CALL + timedelta(days=400)) == []


def test_without_any_interaction_the_interval_counts_from_the_customers_creation(mgr_a):
    customer = classed(mgr_a, "A", called=None)
    created = date(2026, 8, 3)
    type(customer).objects.filter(pk=customer.pk).update(created_at=_at(created, 23))
    assert due_ids(mgr_a, created + timedelta(days=30)) == []
    assert due_ids(mgr_a, created + timedelta(days=31)) == [customer.pk]


def test_the_intervals_are_edited_in_the_classification_settings(mgr_a):
    a, b = classed(mgr_a, "A"), classed(mgr_a, "B")
    today = LAST_CALL + timedelta(days=45)
    assert due_ids(mgr_a, today) == [a.pk]
    ClassificationSettings.current()  # the saved row, as after the first recompute
    ClassificationSettings.objects.filter(pk=1).update(contact_days_a=None, contact_days_b=40)
    assert due_ids(mgr_a, today) == [b.pk]


def test_a_future_dated_snapshot_does_not_decide_the_class(mgr_a):
    customer = classed(mgr_a, "C")
    later = date.today() + timedelta(days=10)
    RecomputeRun.objects.create(as_of=later, status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.create(as_of=later, customer=customer, status="regular", abc="A")
    assert due_ids(mgr_a, LAST_CALL + timedelta(days=45)) == []  # C: 90 days


def test_another_managers_customers_are_not_listed(mgr_a, mgr_b, dir_1):
    customer = classed(mgr_a, "A")
    today = LAST_CALL + timedelta(days=31)
    assert due_ids(mgr_b, today) == []
    assert due_ids(dir_1, today) == [customer.pk]
    assert due_ids(dir_1, today, manager=mgr_b) == []


@pytest.mark.parametrize("count", [2, 30])
def test_the_contact_interval_takes_the_same_queries_whatever_the_number_of_customers(count, mgr_a):
    for _ in range(count):
        classed(mgr_a, "A")
    user = type(mgr_a).objects.get(pk=mgr_a.pk)  # a fresh user, as in a new request
    ClassificationSettings.current()  # the row exists, as it does after the first run
    with CaptureQueriesContext(connection) as queries:
        assert len(contact_interval_overdue(user=user, today=LAST_CALL + timedelta(days=31))) == count
    # current date with the settings (issue 15: one query), the rows; one for the user (role and
    # permissions, crm_project.auth_backend)
    assert len(queries) == 2 + 1


def test_the_control_points_page_and_the_agenda_show_customers_due_a_contact(mgr_a, client_for):
    customer = classed(mgr_a, "A", called=timezone.localdate() - timedelta(days=45), name="Overdue Oak Ltd")
    classed(mgr_a, "A", called=timezone.localdate() - timedelta(days=3), name="Recent Rowan Ltd")
    client = client_for(mgr_a)
    page = client.get(reverse("sales_pipeline:control_points")).content.decode()
    assert "control-point-contact_interval" in page and "Overdue Oak Ltd" in page and "Recent Rowan Ltd" not in page
    assert "Class A, every 30 days; last " in page
    agenda = client.get(reverse("customers:agenda"))
    assert [row.customer_id for row in agenda.context["hook_rows"] if row.slug == "control-point-contact_interval"] == [
        customer.pk
    ]
