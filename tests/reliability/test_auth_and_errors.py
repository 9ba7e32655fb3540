"""SEC-05/06/16 and HSTS (SEC-04) with production settings: cookie flags, the CSRF token
rotated at login, generic error pages with DEBUG off."""

import pytest
from django.test import Client
from django.urls import path, reverse

from tests.conftest import PASSWORD
from tests.crm_project.test_settings import PRODUCTION, settings_seen_with


def test_production_cookies_and_hsts():
    seen = settings_seen_with(
        PRODUCTION,
        "s.SESSION_COOKIE_SECURE", "s.SESSION_COOKIE_HTTPONLY", "s.SESSION_COOKIE_SAMESITE",
        "s.CSRF_COOKIE_SECURE", "s.SECURE_HSTS_SECONDS >= 31536000", "s.SECURE_SSL_REDIRECT",
    )
    assert seen == ["True", "True", "Lax", "True", "True", "True"]


def test_the_session_cookie_carries_its_flags(mgr_a, settings):
    settings.SESSION_COOKIE_SECURE = True
    client = Client()
    client.post(reverse("login"), {"username": "mgr_a", "password": PASSWORD}, secure=True)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_the_csrf_token_changes_at_login(mgr_a):
    client = Client()
    client.get(reverse("login"))
    before = client.cookies["csrftoken"].value
    client.post(reverse("login"), {"username": "mgr_a", "password": PASSWORD, "csrfmiddlewaretoken": before})
    assert client.cookies["csrftoken"].value != before


def boom(request):
    raise RuntimeError("SECRET_KEY=abc /work/wt-16/crm_project/settings.py SELECT * FROM customers_customer")


urlpatterns = [path("boom/", boom)]


@pytest.mark.urls("tests.reliability.test_auth_and_errors")
def test_a_500_with_debug_off_is_a_generic_page(settings, db, caplog):
    settings.DEBUG = False
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    for leak in ("SECRET_KEY", "/work/", "SELECT", "Traceback", "RuntimeError"):
        assert leak not in body
    assert "RuntimeError" in caplog.text  # the server log keeps the reason


def test_a_404_with_debug_off_is_the_generic_page(settings, mgr_a, client_for):
    settings.DEBUG = False
    response = client_for(mgr_a).get("/customers/999999/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode() and "Traceback" not in response.content.decode()
    assert "urlpatterns" not in response.content.decode()
