"""SEC-13 password reset: a known and an unknown address get the same status, page and
(within the noise) time; only the known one gets mail; the link sets a password once;
requests are rate-limited per client and per address alike."""

import re
import statistics
import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from crm_project import password_reset

# per-response values: the CSRF token and the CSP nonce
PER_RESPONSE = re.compile(rb"[A-Za-z0-9_+/=-]{20,}")


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch):
    cache.clear()
    monkeypatch.setattr(password_reset, "MIN_SECONDS", 0.05)
    yield
    cache.clear()


@pytest.fixture
def known(mgr_a):
    mgr_a.email = "mgr_a@example.com"
    mgr_a.save()
    return mgr_a


def ask(email, ip="10.0.0.1"):
    response = Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=ip, follow=True)
    return response.status_code, [t.name for t in response.templates][:1], PER_RESPONSE.sub(b"T", response.content)


def test_known_and_unknown_addresses_get_the_same_answer(known):
    assert ask("mgr_a@example.com") == ask("nobody@example.com", ip="10.0.0.2")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["mgr_a@example.com"]


def test_known_and_unknown_addresses_take_the_same_time(known, monkeypatch):
    # a floor well above the work itself, so that a loaded machine does not show through it
    monkeypatch.setattr(password_reset, "MIN_SECONDS", 0.5)
    monkeypatch.setattr(password_reset, "PER_CLIENT", 1000)
    monkeypatch.setattr(password_reset, "PER_EMAIL", 1000)

    def timed(email):
        started = time.perf_counter()
        ask(email)
        return time.perf_counter() - started

    known_times = [timed("mgr_a@example.com") for _ in range(5)]
    unknown_times = [timed("nobody@example.com") for _ in range(5)]
    # both pinned to the floor: medians within 50 ms (the floor is 500 ms)
    assert abs(statistics.median(known_times) - statistics.median(unknown_times)) < 0.05
    assert min(known_times + unknown_times) >= 0.5


def test_the_link_sets_a_new_password_once(known):
    ask("mgr_a@example.com")
    link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    new = "a fresh and long passphrase"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert Client().post(reverse("login"), {"username": "mgr_a", "password": new}).status_code == 302
    again = Client().get(link, follow=True)
    assert not again.context["validlink"]


def test_requests_are_limited_per_address_known_or_not(known):
    answers = {}
    for email in ("mgr_a@example.com", "nobody@example.com"):
        answers[email] = [ask(email, ip=f"10.0.1.{n}")[0] for n in range(password_reset.PER_EMAIL + 1)]
    assert answers["mgr_a@example.com"] == answers["nobody@example.com"] == [200] * password_reset.PER_EMAIL + [429]
    assert len(mail.outbox) == password_reset.PER_EMAIL


def test_requests_are_limited_per_client_address(known):
    codes = [ask(f"someone{n}@example.com", ip="10.0.2.1")[0] for n in range(password_reset.PER_CLIENT + 1)]
    assert codes == [200] * password_reset.PER_CLIENT + [429]
    assert ask("mgr_a@example.com", ip="10.0.2.2")[0] == 200  # another client is not blocked


def test_the_login_page_offers_the_reset(db):
    assert reverse("password_reset").encode() in Client().get(reverse("login")).content
