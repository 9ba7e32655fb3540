"""The class changes page (issue 15): the two dates' stores and whether both were computed
read from the page's own date list (selectors.snapshot_calendar), the manager options
through the statement compiled per viewer's scope; the same rows as before, for every
kind of date, and a query count that does not grow."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from segmentation import selectors, services
from segmentation.models import CustomerSnapshot
from tests.factories import CustomerFactory, SettlementLineFactory

D = date(2026, 5, 31)
LATER = D + timedelta(days=30)
PRUNED = D - timedelta(days=31)  # computed, its snapshot rows deleted: held by the intervals only


@pytest.fixture
def three_dates(cust_a, cust_c, mgr_a, mgr_c):
    """Classes computed on PRUNED, D and LATER; PRUNED's snapshot rows deleted."""
    for k in range(12):
        SettlementLineFactory(customer=cust_a, date=D - timedelta(days=30 * k + 1), amount=Decimal("1000"))
    SettlementLineFactory(customer=cust_c, date=D - timedelta(days=200), amount=Decimal("10"))
    late = CustomerFactory(name="Late Ltd", manager=mgr_a)
    SettlementLineFactory(customer=late, date=D + timedelta(days=20), amount=Decimal("50000"))
    SettlementLineFactory(customer=CustomerFactory(name="Other Ltd", manager=mgr_c), date=D + timedelta(days=10))
    for day in (PRUNED, D, LATER):
        services.segments_recompute(as_of=day)
    CustomerSnapshot.objects.filter(as_of=PRUNED).delete()


def rows(queryset) -> list[tuple]:
    return sorted(queryset.values_list("customer_id", "previous", "abc", "xyz", "status"))


PAIRS = [(D, LATER), (LATER, D), (PRUNED, LATER), (LATER, PRUNED), (PRUNED, D), (D, D), (date(2020, 1, 1), LATER)]


def test_the_calendar_gives_the_rows_the_probes_gave(three_dates, mgr_a, admin_user):
    calendar = selectors.snapshot_calendar()
    assert calendar.held == {D, LATER} and calendar.done == {PRUNED, D, LATER}
    assert calendar.dates == selectors.snapshot_dates() == [LATER, D, PRUNED]
    compared = 0
    for user in (mgr_a, admin_user):
        for before, after in PAIRS:
            for field in ("abc", "xyz", "status"):
                probed = selectors.class_changes(user=user, before=before, after=after, field=field)
                read = selectors.class_changes(user=user, before=before, after=after, field=field, calendar=calendar)
                assert read.model is probed.model
                assert rows(read) == rows(probed), (user, before, after, field)
                compared += bool(rows(read))
    assert compared > 10  # most pairs have changes to compare


def test_classes_as_of_picks_the_same_store_from_the_calendar(three_dates):
    calendar = selectors.snapshot_calendar()
    for day in (PRUNED, D, LATER, date(2020, 1, 1), None):
        assert selectors.classes_as_of(day, calendar).model is selectors.classes_as_of(day).model


def page_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("segmentation:class_changes"), params or {})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("extra", [2, 30])
def test_the_page_costs_the_same_queries_whatever_the_data(three_dates, mgr_a, client_for, extra):
    for customer in CustomerFactory.create_batch(extra, manager=mgr_a):
        SettlementLineFactory(customer=customer, date=D + timedelta(days=5), amount=Decimal("5"))
    services.segments_recompute(as_of=LATER)
    client = client_for(mgr_a)
    client.get(reverse("segmentation:class_changes"))  # the session, the compiled options
    # session, user; the dates (runs, snapshot dates); the manager options; the count; the
    # rows. Each date's store and the finished runs were three more queries.
    assert page_queries(client) == 7
    assert page_queries(client, {"before": PRUNED.isoformat(), "after": LATER.isoformat()}) == 7


def manager_options(html: str) -> list[tuple[str, str]]:
    select = re.search(r'<select name="manager"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_the_manager_filter_offers_the_viewers_managers_and_filters(three_dates, mgr_a, mgr_c, admin_user, client_for):
    html = client_for(mgr_a).get(reverse("segmentation:class_changes")).content.decode()
    assert '<label for="id_manager" class="form-label">Customer manager</label>' in html
    assert manager_options(html) == [("", "Any manager"), (str(mgr_a.pk), mgr_a.username)]
    admin = client_for(admin_user)
    everyone = manager_options(admin.get(reverse("segmentation:class_changes")).content.decode())
    assert everyone == [
        ("", "Any manager"),
        *sorted([(str(mgr_a.pk), mgr_a.username), (str(mgr_c.pk), mgr_c.username)], key=lambda o: o[1]),
    ]
    response = admin.get(reverse("segmentation:class_changes"), {"manager": mgr_c.pk})
    assert {row.record.customer.manager_id for row in response.context["table"].rows} == {mgr_c.pk}
    # another manager's id is no choice for a manager: the filter is invalid, no rows
    response = client_for(mgr_a).get(reverse("segmentation:class_changes"), {"manager": mgr_c.pk})
    assert list(response.context["table"].rows) == []
