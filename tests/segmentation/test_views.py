"""Segmentation pages through the test client: scope, numbers shown, recompute button."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from segmentation import services
from segmentation.classification import months_before
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.factories import CustomerFactory, SettlementLineFactory

D = date(2026, 5, 31)


@pytest.fixture
def classified(cust_a, cust_c, mgr_a):
    """cust_a (mgr_a, T1) is the big steady customer, cust_c (mgr_c, T2) a small one."""
    for k in range(12):
        SettlementLineFactory(customer=cust_a, date=months_before(D, k), amount=Decimal("1000"))
    SettlementLineFactory(customer=cust_c, date=D - timedelta(days=200), amount=Decimal("10"))
    CustomerFactory(name="Prospect", manager=mgr_a)
    services.segments_recompute(as_of=D)


def matrix_counts(response) -> dict:
    return {(row["abc"], cell["xyz"]): cell["customers"] for row in response.context["matrix"] for cell in row["cells"]}


def test_the_overview_counts_only_the_users_customers(classified, mgr_a, client_for):
    response = client_for(mgr_a).get(reverse("segmentation:overview"))
    assert response.status_code == 200
    assert dict(response.context["status_counts"]) == {"potential": 1, "new": 0, "regular": 1, "restored": 0, "lost": 0}
    cells = matrix_counts(response)
    assert cells[("A", "X")] == 1 and sum(cells.values()) == 1  # cust_c (T2) is not counted


def test_an_admin_sees_every_customer_in_the_matrix(classified, admin_user, client_for):
    response = client_for(admin_user).get(reverse("segmentation:overview"))
    cells = matrix_counts(response)
    assert sum(cells.values()) == 2


def test_the_matrix_cells_link_to_the_customer_list_filtered_by_class(classified, mgr_a, cust_a, client_for):
    client = client_for(mgr_a)
    assert b"?abc_class=A&xyz_class=X" in client.get(reverse("segmentation:overview")).content
    response = client.get(reverse("customers:customer_list"), {"abc_class": "A", "xyz_class": "X"})
    assert [row.record for row in response.context["table"].page.object_list] == [cust_a]


def test_the_customer_card_shows_the_current_classes(classified, cust_a, mgr_a, client_for):
    response = client_for(mgr_a).get(cust_a.get_absolute_url())
    assert response.context["snapshot"].abc == "A"
    assert b'id="customer-classes"' in response.content


def test_the_segment_export_is_scoped(classified, mgr_a, cust_a, cust_c, client_for):
    response = client_for(mgr_a).get(reverse("segmentation:segment_export"), {"as_of": D.isoformat()})
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "customer,status,abc,xyz,revenue,cov,recency,frequency,monetary,r,f,m,rfm_segment"
    assert cust_a.external_ref in text and cust_c.external_ref not in text


def test_class_changes_list_what_moved(classified, cust_a, admin_user, client_for):
    SettlementLineFactory(customer=CustomerFactory(), date=D + timedelta(days=20), amount=Decimal("50000"))
    services.segments_recompute(as_of=D + timedelta(days=30))
    response = client_for(admin_user).get(
        reverse("segmentation:class_changes"), {"before": D.isoformat(), "after": (D + timedelta(days=30)).isoformat()}
    )
    moved = {(row.record.customer_id, row.record.previous, row.record.abc) for row in response.context["table"].rows}
    assert (cust_a.pk, "A", "C") in moved


def test_the_lifecycle_page_offers_to_compute_missing_periods(classified, dir_1, client_for):
    response = client_for(dir_1).get(reverse("segmentation:lifecycle"))
    assert response.status_code == 200
    assert len(response.context["missing"]) == 7  # only D itself is computed


def test_a_director_queues_a_recompute_and_it_runs(classified, dir_1, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(dir_1).post(reverse("segmentation:run_start"), {"as_of": "2026-04-30"})
    assert response.status_code == 302
    assert RecomputeRun.objects.get(as_of=date(2026, 4, 30)).status == "done"


def test_a_manager_cannot_start_a_recompute(mgr_a, client_for):
    assert client_for(mgr_a).post(reverse("segmentation:run_start"), {"as_of": "2026-04-30"}).status_code == 403


def test_a_bad_date_is_refused_with_a_message(dir_1, client_for):
    response = client_for(dir_1).post(reverse("segmentation:run_start"), {"as_of": "31/04/2026"}, follow=True)
    assert "is not a date" in response.content.decode()
    assert not RecomputeRun.objects.exists()


def test_the_nudge_lists_one_time_buyers_at_the_typical_gap(db, mgr_a, client_for):
    today = date.today()
    repeaters = CustomerFactory.create_batch(3, manager=mgr_a)
    for customer in repeaters:  # second purchase 30 days after the first
        SettlementLineFactory(customer=customer, date=today - timedelta(days=100), amount=Decimal("5"))
        SettlementLineFactory(customer=customer, date=today - timedelta(days=70), amount=Decimal("5"))
    due = CustomerFactory(name="Due Ltd", manager=mgr_a)
    SettlementLineFactory(customer=due, date=today - timedelta(days=28), amount=Decimal("5"))
    early = CustomerFactory(name="Too Early Ltd", manager=mgr_a)
    SettlementLineFactory(customer=early, date=today - timedelta(days=5), amount=Decimal("5"))
    response = client_for(mgr_a).get(reverse("segmentation:nudge"))
    assert response.context["median"] == 30
    assert [customer.name for customer, _ in response.context["rows"]] == ["Due Ltd"]


@pytest.mark.parametrize("count", [3, 40])
def test_the_overview_query_count_does_not_grow(count, mgr_a, client_for, django_assert_max_num_queries):
    for customer in CustomerFactory.create_batch(count, manager=mgr_a):
        SettlementLineFactory(customer=customer, date=D - timedelta(days=3), amount=Decimal("5"))
    services.segments_recompute(as_of=D)
    client = client_for(mgr_a)
    with django_assert_max_num_queries(14):  # one to tell which store holds the date (classes_as_of)
        assert client.get(reverse("segmentation:overview")).status_code == 200


def test_the_activity_segment_reads_vip_on_the_overview_list_and_card(cust_a, mgr_a, client_for):
    # Issue 11, item 10: a VIP snapshot (the domain's acronym), shown as "VIP", not "Vip"/"vip".
    RecomputeRun.objects.create(as_of=D, status=RecomputeRun.Status.DONE)
    CustomerSnapshot.objects.create(
        as_of=D, customer=cust_a, status="regular", abc="A", rfm_segment="vip", r=5, f=5, m=5
    )
    client = client_for(mgr_a)
    overview = client.get(reverse("segmentation:overview")).content.decode()
    assert '?activity_segment=vip">VIP</a>: 1' in overview
    listed = client.get(reverse("customers:customer_list")).content.decode()
    assert "<td >VIP</td>" in listed or ">VIP<" in listed
    assert ">vip<" not in listed and "Vip" not in listed
    card = client.get(cust_a.get_absolute_url()).content.decode()
    assert "VIP (5/5/5)" in card
    assert '<dd class="col-6">Regular</dd>' in card  # the lifecycle label, not the code
