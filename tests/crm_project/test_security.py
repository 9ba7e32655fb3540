"""Authentication, sessions, CSRF, headers and offline assets, through the test client."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.urlmap import PUBLIC, all_url_patterns, url_kwargs


def example_url(name: str, pattern) -> str:
    return reverse(name, kwargs={key: 1 for key in url_kwargs(pattern)})


def every_url():
    return [(name, example_url(name, pattern)) for name, _, pattern in all_url_patterns()]


@pytest.mark.django_db
@pytest.mark.parametrize("name,url", [(name, url) for name, url in every_url() if name not in PUBLIC])
def test_anonymous_visitors_are_sent_to_the_login_page(name, url, client):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name,url", every_url())
def test_every_post_needs_a_csrf_token(name, url, admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(url, {}).status_code == 403


def test_the_code_never_exempts_a_view_from_csrf():
    from pathlib import Path

    root = Path(settings.BASE_DIR)
    offenders = [
        str(path)
        for path in root.rglob("*.py")
        if ".venv" not in path.parts and "tests" not in path.parts and "csrf_exempt" in path.read_text()
    ]
    assert offenders == []


def login(client, username, password, ip="10.0.0.1", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def test_login_with_the_right_password_lands_on_the_home_page(mgr_a, client):
    response = login(client, "mgr_a", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_unknown_user_and_wrong_password_get_the_same_answer(mgr_a, client):
    unknown = login(client, "nobody", "whatever-it-is")
    wrong = login(client, "mgr_a", "not-the-password")
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()


def test_repeated_failures_lock_that_user_from_that_address_only(mgr_a, mgr_b, client):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "mgr_a", "wrong password", ip="10.0.0.1")
    # the right password no longer works from that address
    assert login(client, "mgr_a", PASSWORD, ip="10.0.0.1").status_code == 429
    # but the office is not locked out: another user there, and the user elsewhere, get in
    assert login(Client(), "mgr_b", PASSWORD, ip="10.0.0.1").status_code == 302
    assert login(Client(), "mgr_a", PASSWORD, ip="10.0.0.2").status_code == 302
    # and after the cool-off the right password works again
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert login(Client(), "mgr_a", PASSWORD, ip="10.0.0.1").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "http://evil.example"])
def test_login_never_redirects_to_another_site(target, mgr_a, client):
    response = client.post(
        f"{reverse('login')}?next={target}", {"username": "mgr_a", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_logout_is_post_only_and_ends_the_session_on_the_server(mgr_a, client):
    login(client, "mgr_a", PASSWORD)
    assert client.get(reverse("logout")).status_code == 405
    old_key = client.session.session_key
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=old_key).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert replay.get(reverse("customers:customer_list")).status_code == 302


def test_the_session_key_changes_at_login(mgr_a, client):
    client.get(reverse("login"))
    client.session.save()
    before = client.session.session_key
    login(client, "mgr_a", PASSWORD)
    assert client.session.session_key != before


@pytest.mark.session_renewal
def test_an_idle_session_expires(mgr_a, client):
    login(client, "mgr_a", PASSWORD)
    page = reverse("customers:customer_list")
    start, age = timezone.now(), settings.SESSION_COOKIE_AGE
    with time_machine.travel(start + timedelta(seconds=age - 60)):
        assert client.get(page).status_code == 200
    # still signed in long after the login: that request renewed the idle clock
    with time_machine.travel(start + timedelta(seconds=2 * age - 180)):
        assert client.get(page).status_code == 200
    with time_machine.travel(start + timedelta(seconds=3 * age)):
        assert client.get(page).status_code == 302


@pytest.mark.session_renewal
def test_pages_write_the_session_at_most_once_a_minute(mgr_a, client):
    login(client, "mgr_a", PASSWORD)
    page = reverse("customers:customer_list")
    start = timezone.now()

    def expiry():
        return Session.objects.get(pk=client.session.session_key).expire_date

    with time_machine.travel(start + timedelta(seconds=120)):
        client.get(page)
    renewed = expiry()
    with time_machine.travel(start + timedelta(seconds=150)):
        client.get(page)
    assert expiry() == renewed  # 30 s later: not written again
    with time_machine.travel(start + timedelta(seconds=190)):
        client.get(page)
    assert expiry() > renewed  # past the minute: renewed


def test_a_disabled_account_loses_access_at_once(mgr_a, client):
    login(client, "mgr_a", PASSWORD)
    mgr_a.is_active = False
    mgr_a.save()
    assert client.get(reverse("customers:customer_list")).status_code == 302


@pytest.mark.parametrize("weak", ["password", "12345678", "mgr_a_mgr_a", "short1!"])
def test_weak_passwords_are_refused(weak, mgr_a, client):
    login(client, "mgr_a", PASSWORD)
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": weak, "new_password2": weak}
    )
    assert response.status_code == 200 and response.context["form"].errors


def test_a_long_passphrase_works_and_logs_out_other_sessions(mgr_a, client):
    other = Client()
    login(other, "mgr_a", PASSWORD, ip="10.0.0.9")
    login(client, "mgr_a", PASSWORD)
    passphrase = "ünïcode and spaces are fine in a passphrase"
    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": passphrase, "new_password2": passphrase}
    )
    assert response.status_code == 302
    assert client.get(reverse("customers:customer_list")).status_code == 200
    assert other.get(reverse("customers:customer_list")).status_code == 302
    assert login(Client(), "mgr_a", passphrase).status_code == 302
    assert login(Client(), "mgr_a", passphrase + "x").status_code == 200


def test_html_pages_carry_the_security_headers(mgr_a, client_for):
    response = client_for(mgr_a).get(reverse("customers:customer_list"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]:
        assert directive in csp
    assert "http" not in csp


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.mark.parametrize("name,url", [(n, u) for n, u in every_url() if n not in {"logout"}])
def test_no_page_references_an_external_url(name, url, admin_user, cust_a, client_for):
    client = client_for(admin_user)
    if "pk" in url_kwargs_of(name):
        url = reverse(name, kwargs={"pk": cust_a.pk})
    response = client.get(url)
    if response.get("Content-Type", "").startswith("text/html"):
        assert not EXTERNAL.findall(response.content.decode())


def url_kwargs_of(name):
    return {key for n, _, pattern in all_url_patterns() if n == name for key in url_kwargs(pattern)}
