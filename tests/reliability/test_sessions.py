"""SEC-07/08/09 across devices: a user logged in on two clients (a laptop and a phone).
Logging out on one, disabling the account (a save or the admin) or the admin's "end all
sessions" action ends the sessions on both, server-side (the rows are gone), and
leaves other users' sessions alone."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from customers.models import LoginSession
from customers.sessions import sessions_end
from tests.conftest import PASSWORD
from tests.crm_project.test_security import login

LIST = "customers:customer_list"


def logged_in(username, ip):
    client = Client()
    assert login(client, username, PASSWORD, ip=ip).status_code == 302
    assert client.get(reverse(LIST)).status_code == 200
    return client


@pytest.fixture
def devices(mgr_a):
    return logged_in("mgr_a", "10.0.0.1"), logged_in("mgr_a", "10.0.0.2")


@pytest.fixture
def colleague(mgr_b):
    return logged_in("mgr_b", "10.0.0.3")


def _out(client) -> bool:
    response = client.get(reverse(LIST))
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _sessions_of(user) -> int:
    return Session.objects.filter(loginsession__user=user).count()


def _rows_left(clients) -> int:
    return Session.objects.filter(session_key__in=[client.session.session_key for client in clients]).count()


def test_each_login_is_recorded_for_its_user(devices, colleague, mgr_a, mgr_b):
    keys = {client.session.session_key for client in devices}
    assert set(LoginSession.objects.filter(user=mgr_a).values_list("session_id", flat=True)) == keys
    assert _sessions_of(mgr_b) == 1


def test_logging_out_on_one_device_ends_the_session_on_every_device(devices, colleague, mgr_a, mgr_b):
    laptop, phone = devices
    phone_key = phone.session.session_key
    assert laptop.post(reverse("logout")).status_code == 302
    assert _out(laptop) and _out(phone)
    assert not Session.objects.filter(session_key=phone_key).exists() and _sessions_of(mgr_a) == 0
    # replaying the phone's old cookie on a fresh client gets nothing either
    replay = Client()
    replay.cookies["sessionid"] = phone_key
    assert _out(replay)
    assert not _out(colleague) and _sessions_of(mgr_b) == 1


def test_disabling_the_account_deletes_every_session_row(devices, colleague, mgr_a, mgr_b):
    mgr_a.is_active = False
    mgr_a.save()
    assert _rows_left(devices) == 0
    assert all(_out(client) for client in devices)
    assert not _out(colleague)


def test_disabling_in_the_admin_ends_the_sessions(devices, mgr_a, admin_user, client_for):
    admin = client_for(admin_user)
    page = admin.get(reverse("admin:auth_user_change", args=[mgr_a.pk]))
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(username="mgr_a", is_active="", last_login_0="", last_login_1="", date_joined_0="2026-01-01",
                date_joined_1="00:00:00", groups=[g.pk for g in mgr_a.groups.all()], user_permissions=[])  # fmt: skip
    response = admin.post(reverse("admin:auth_user_change", args=[mgr_a.pk]), data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    assert not get_user_model().objects.get(pk=mgr_a.pk).is_active
    assert _rows_left(devices) == 0 and all(_out(client) for client in devices)


def test_the_admin_action_ends_all_sessions_of_the_chosen_users(devices, colleague, mgr_a, mgr_b, admin_user):
    admin = Client()
    admin.force_login(admin_user)
    response = admin.post(
        reverse("admin:auth_user_changelist"), {"action": "end_sessions", "_selected_action": [mgr_a.pk]}
    )
    assert response.status_code == 302
    assert _rows_left(devices) == 0 and all(_out(client) for client in devices)
    # the account stays active: logging in again works
    assert get_user_model().objects.get(pk=mgr_a.pk).is_active
    assert not _out(logged_in("mgr_a", "10.0.0.4"))
    assert not _out(colleague)


def test_a_manager_cannot_run_the_admin_action(devices, mgr_b, client_for):
    client = client_for(mgr_b)
    response = client.post(reverse("admin:auth_user_changelist"), {"action": "end_sessions", "_selected_action": [1]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert all(not _out(client) for client in devices)


def test_a_password_change_keeps_this_device_mapped_and_ends_the_others(devices, mgr_a):
    laptop, phone = devices
    new = "a new and long enough passphrase"
    response = laptop.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert not _out(laptop) and _out(phone)
    # the laptop's re-keyed session is still known as mgr_a's: a logout elsewhere ends it
    assert LoginSession.objects.filter(session_id=laptop.session.session_key, user=mgr_a).exists()
    assert sessions_end(user_ids=[mgr_a.pk]) >= 1
    assert _out(laptop)
