"""AC-01/02/10/12 and AC-09: every id-taking URL (collected from the resolver by
tests/customers/test_access.py, whose test_every_object_url_is_covered fails when a new
one has no fixture) opened by three people who must not see mgr_a's records."""

import logging
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.models import Customer
from tests.customers.test_access import OBJECT_URLS, open_url
from tests.factories import CustomerFactory, UserFactory, make_director

CSRF_TOKEN = re.compile(rb"[A-Za-z0-9]{64}")
PERSONAS = ["manager of the same team", "manager of another team", "director of another team"]


@pytest.fixture
def outsider(request, mgr_b, mgr_c, team_2):
    return {
        "manager of the same team": lambda: mgr_b,
        "manager of another team": lambda: mgr_c,
        "director of another team": lambda: make_director("dir_2", team_2),
    }[request.param]()


def business_state(objects):
    """Every row behind mgr_a's objects, and the customer's history: a refused request
    must leave them byte-identical."""
    state = {}
    for key, obj in objects.items():
        state[key] = list(type(obj).objects.filter(pk=obj.pk).values())
    state["history"] = objects["customer"].history.count()
    return state


@pytest.mark.parametrize("outsider", PERSONAS, indirect=True)
@pytest.mark.parametrize("url_name", sorted(OBJECT_URLS))
def test_an_outsider_gets_404_changes_nothing_and_is_logged(url_name, outsider, objects_of_mgr_a, client_for, caplog):
    client = client_for(outsider)
    url = reverse(url_name, kwargs=OBJECT_URLS[url_name](objects_of_mgr_a))
    before = business_state(objects_of_mgr_a)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="crm.security"):
        response = open_url(client, url)
    assert response.status_code == 404
    assert b"Alpha Works" not in response.content
    # one security record per refused request: who, which object, which request; no customer data
    denied = [record.getMessage() for record in caplog.records if record.name == "crm.security"]
    assert len(denied) == 1
    message = denied[0]
    assert f"user_id={outsider.pk}" in message and "request_id=" in message
    assert url in message
    assert "Alpha Works" not in message and objects_of_mgr_a["customer"].email not in message
    # a POST with data (edit, delete, advance...) is refused the same way
    posted = client.post(url, {"name": "Taken over", "title": "Taken over", "description": "x", "points": "5"})
    assert posted.status_code in (404, 405)
    assert business_state(objects_of_mgr_a) == before


def test_the_security_log_escapes_line_breaks_in_the_path(mgr_b, cust_a, client_for, caplog):
    with caplog.at_level(logging.WARNING, logger="crm.security"):
        client_for(mgr_b).get(reverse("customers:customer_detail", args=[cust_a.pk]) + "%0d%0aforged")
    messages = [r.getMessage() for r in caplog.records if r.name == "crm.security"]
    assert all("\n" not in m and "\r" not in m for m in messages)


def test_the_enumeration_oracle_shows_only_the_visible_count(mgr_a, mgr_b, mgr_c, client_for):
    # AC-10: every id from 1 to max+20; foreign and missing ids answer identically
    for owner in (mgr_a, mgr_a, mgr_b, mgr_c, None, mgr_b):
        CustomerFactory(manager=owner)
    client = client_for(mgr_b)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    ok, refusals = 0, set()
    for pk in range(1, top + 21):
        response = client.get(reverse("customers:customer_detail", args=[pk]))
        if response.status_code == 200:
            ok += 1
        else:
            assert response.status_code == 404
            refusals.add(CSRF_TOKEN.sub(b"TOKEN", response.content))
    assert ok == Customer.objects.visible_to(mgr_b).count() == 3
    assert len(refusals) == 1  # the same body, byte for byte (but the per-request CSRF mask)


#
# AC-09: the admin site by permission
#


@pytest.fixture
def viewer(db):
    user = UserFactory(username="viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer", content_type__app_label="customers"))
    return user


def test_a_view_only_staff_user_reads_the_admin_but_changes_nothing(viewer, cust_a, client_for):
    client = client_for(viewer)
    change = reverse("admin:customers_customer_change", args=[cust_a.pk])
    assert client.get(reverse("admin:customers_customer_changelist")).status_code == 200
    page = client.get(change)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:customers_customer_history", args=[cust_a.pk])).status_code == 200
    before = list(Customer.objects.filter(pk=cust_a.pk).values())
    assert client.post(change, {"name": "Changed", "kind": "company"}).status_code == 403
    assert client.post(reverse("admin:customers_customer_delete", args=[cust_a.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:customers_customer_add")).status_code == 403
    listing = client.post(
        reverse("admin:customers_customer_changelist"), {"action": "delete_selected", "_selected_action": [cust_a.pk]}
    )
    assert listing.status_code in (200, 302, 403)
    assert list(Customer.objects.filter(pk=cust_a.pk).values()) == before


def test_managers_and_directors_are_kept_out_of_the_admin(mgr_a, dir_1, client_for):
    for user in (mgr_a, dir_1):
        response = client_for(user).get(reverse("admin:customers_customer_changelist"))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_superuser_can_change_in_the_admin(admin_user, cust_a, client_for):
    page = client_for(admin_user).get(reverse("admin:customers_customer_change", args=[cust_a.pk]))
    assert page.status_code == 200 and b'name="_save"' in page.content
