"""SEC-15: hostile markup stored in every text field is shown as text on every page,
fragment, chart and admin page that renders it."""

import pytest
from django.urls import reverse

from tests.reliability.hostile import every_page, fill_text_fields

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
TEXTS = [IMG, IMG + SCRIPT + "{{7*7}}"]
RAW = [SCRIPT.encode(), b"<img src=x onerror"]
ESCAPED = [b"&lt;img src=x onerror", b"\\u003Cimg src=x onerror"]  # HTML, and json_script


@pytest.fixture
def hostile(objects_of_mgr_a, admin_user):
    assert fill_text_fields(TEXTS) > 20
    return objects_of_mgr_a


def rendered(response) -> bool:
    kind = response.get("Content-Type", "")
    return response.status_code == 200 and (kind.startswith("text/html") or "json" in kind or "svg" in kind)


@pytest.mark.parametrize("who", ["admin", "mgr_a"])
def test_no_page_renders_stored_markup(who, hostile, admin_user, mgr_a, client_for):
    client = client_for(admin_user if who == "admin" else mgr_a)
    checked = []
    for name, url in every_page(hostile):
        # htmx fragments have URLs of their own, so they are in the list too
        response = client.get(url)
        assert response.status_code < 500, name
        if rendered(response):
            if any(shown in response.content for shown in ESCAPED):
                checked.append(name)
            for raw in RAW:
                assert raw not in response.content, f"{name} ({url}) renders {raw!r} unescaped"
    # the payload reached the pages (escaped): the test looks where the rows are shown
    assert len(set(checked)) > 25, sorted(set(checked))


def test_the_admin_shows_stored_markup_as_text(hostile, admin_user, client_for):
    client = client_for(admin_user)
    customer = hostile["customer"]
    for url in (
        reverse("admin:customers_customer_changelist"),
        reverse("admin:customers_customer_change", args=[customer.pk]),
        reverse("admin:customers_customer_history", args=[customer.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert all(raw not in response.content for raw in RAW), url
