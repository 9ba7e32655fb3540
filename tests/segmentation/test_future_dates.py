"""Issue 11, item 4: no classification after the business today, and "current classes"
are the newest snapshot on or before today wherever they are shown."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from crm_project.dates import business_today
from segmentation import services
from segmentation.models import CustomerSnapshot, RecomputeRun
from segmentation.tasks import recompute_segments_task
from tests.factories import SettlementLineFactory

D = date(2026, 5, 31)


def test_recompute_command_refuses_a_date_after_the_business_today(db):
    tomorrow = business_today() + timedelta(days=1)
    with pytest.raises(CommandError, match=f"up to today \\({business_today()}\\), not for {tomorrow}"):
        call_command("recompute_segments", "--as-of", tomorrow.isoformat())
    assert not RecomputeRun.objects.exists()


def test_recompute_command_still_accepts_today(db):
    call_command("recompute_segments", "--as-of", business_today().isoformat())
    assert RecomputeRun.objects.get().as_of == business_today()


def test_the_recompute_button_refuses_a_future_date_with_a_message(dir_1, client_for):
    tomorrow = business_today() + timedelta(days=1)
    response = client_for(dir_1).post(reverse("segmentation:run_start"), {"as_of": tomorrow.isoformat()}, follow=True)
    assert f"not for {tomorrow}" in response.content.decode()
    assert not RecomputeRun.objects.exists()


def test_the_recompute_task_refuses_a_future_date(db):
    tomorrow = business_today() + timedelta(days=1)
    assert recompute_segments_task.delay(tomorrow.isoformat()).get().startswith("refused:")
    assert not RecomputeRun.objects.exists()


@pytest.fixture
def future_snapshot(cust_a):
    """A real snapshot as of D (cust_a is A), and a future-dated one left by the old code
    (cust_a is C there): the future one must never pass for the current classes."""
    SettlementLineFactory(customer=cust_a, date=D - timedelta(days=3), amount=Decimal("500"))
    services.segments_recompute(as_of=D)
    future = business_today() + timedelta(days=30)
    RecomputeRun.objects.create(as_of=future, status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.create(as_of=future, customer=cust_a, status="lost", abc="C", xyz="Z")
    return future


def test_current_classes_ignore_a_future_dated_snapshot(future_snapshot):
    assert CustomerSnapshot.objects.latest_date() == D


def test_the_customer_list_and_card_show_the_classes_of_today_not_of_a_future_date(
    future_snapshot, cust_a, mgr_a, client_for
):
    client = client_for(mgr_a)
    listed = client.get(reverse("customers:customer_list")).context["table"].page.object_list
    assert [(row.record.abc_class, row.record.lifecycle_status) for row in listed] == [("A", "new")]
    assert client.get(cust_a.get_absolute_url()).context["snapshot"].as_of == D
    base = client.get(reverse("customers:managed_base")).context["table"].page.object_list
    assert [row.record.abc_class for row in base] == ["A"]


def test_the_latest_date_follows_new_runs_and_the_day_asked_with_one_query(db, django_assert_num_queries):
    """latest_date runs a statement compiled once (crm_project.prepared): each call reads
    the runs as they are now, for the day it is given."""
    # given no run, then runs on two days, one failed later
    assert CustomerSnapshot.objects.latest_date() is None
    RecomputeRun.objects.create(as_of=D, status=RecomputeRun.Status.DONE)
    RecomputeRun.objects.create(as_of=D + timedelta(days=10), status=RecomputeRun.Status.DONE)
    RecomputeRun.objects.create(as_of=D + timedelta(days=20), status=RecomputeRun.Status.FAILED)
    # when asked for today and for days in between, then the newest done run up to that day
    with django_assert_num_queries(1):
        assert CustomerSnapshot.objects.latest_date() == D + timedelta(days=10)
    assert CustomerSnapshot.objects.latest_date(D + timedelta(days=9)) == D
    assert CustomerSnapshot.objects.latest_date(D - timedelta(days=1)) is None
    assert CustomerSnapshot.objects.latest_date(D + timedelta(days=30)) == D + timedelta(days=10)
