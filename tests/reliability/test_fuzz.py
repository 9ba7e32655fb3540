"""Bad input everywhere (hypothesis): junk query strings on every page, junk posts to
every form of every page, junk tokens on the public pages. Never a 500, never a row
outside the reader's scope. CI runs a few examples per page; FUZZ_EXAMPLES=200 for a
long run (bench/README.md)."""

import os
import re
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from tests.factories import CustomerFactory
from tests.reliability.forms_on_page import forms_on
from tests.reliability.hostile import every_page
from tests.urlmap import PUBLIC, all_url_patterns, url_kwargs

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not os.environ.get("FUZZ_RANDOM"),  # CI: the same examples every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text that has broken parsers before: huge and negative numbers, impossible dates,
# NUL (PostgreSQL text cannot hold it), markup, SQL, odd unicode.
NASTY = st.sampled_from([
    "", " ", "0", "-1", "1e309", "NaN", "inf", "99999999999999999999999", "2026-02-30", "0000-00-00",
    "9999-12-31", "31/12/2026", "\x00", "a\x00b", "<script>x</script>", "' OR 1=1 --", "%", "_", "\\",
    "é" * 300, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\u202e", "1,5", "true", "[]", "{}", "__all__", "-", "--", "1;2",
])
VALUE = st.one_of(NASTY, st.text(max_size=40), st.integers(min_value=-(2**70), max_value=2**70).map(str))
HOSTILE_FILES = [
    ("image.csv", b"\x89PNG\r\n\x1a\n" + bytes(200)),
    ("zero.xlsx", b""),
    ("fake.xlsx", b"PK\x03\x04 not really a zip"),
    ("latin1.csv", "name;city\nCaf\xe9;S\xe3o Paulo\n".encode("cp1252")),
    ("bom.csv", "\ufeffname,city\n=1+1,Paris\n".encode()),
    ("binary.csv", bytes(range(256)) * 4),
]


def junk_post(form, data):
    """A post for `form`: every field filled by hypothesis, offered choices now and then."""
    post = {}
    for name, offered in form.fields.items():
        kind = form.kinds.get(name)
        if name == "csrfmiddlewaretoken":
            continue
        if kind == "file":
            file_name, content = data.draw(st.sampled_from(HOSTILE_FILES))
            post[name] = SimpleUploadedFile(file_name, content)
        elif offered and data.draw(st.booleans()):
            post[name] = data.draw(st.sampled_from(offered))
        elif data.draw(st.integers(0, 5)):
            post[name] = data.draw(VALUE)
    return post


def plain_pages():
    return sorted(name for name, _, pattern in all_url_patterns() if not url_kwargs(pattern) and name != "logout")


@pytest.mark.parametrize("name", plain_pages())
def test_every_page_survives_junk_query_strings(name, admin_user, cust_a, client_for):
    client = client_for(admin_user)
    url = reverse(name)
    keys = st.sampled_from(["q", "page", "per_page", "sort", "month", "start", "end", "period", "manager",
                            "status", "as_of", "team", "_export", "next", "date", "stage"])

    @FUZZ
    @given(params=st.dictionaries(st.one_of(keys, st.text(max_size=10)), VALUE, max_size=5))
    def one(params):
        response = client.get(url, params)
        assert response.status_code < 500

    one()


@pytest.fixture
def pages_with_forms(objects_of_mgr_a, admin_user, client_for):
    client = client_for(admin_user)
    found, seen = [], set()
    for name, url in every_page(objects_of_mgr_a):
        page = client.get(url)
        if page.status_code != 200 or not page.get("Content-Type", "").startswith("text/html"):
            continue
        for form in forms_on(page.content.decode()):
            target = form.action or url
            shape = (target, tuple(sorted(form.fields)))
            if form.method == "post" and "logout" not in target and shape not in seen:
                seen.add(shape)  # the same form on several pages is fuzzed once
                found.append((name, target, form))
    return client, found


def test_every_form_on_every_page_survives_junk_posts(pages_with_forms):
    client, found = pages_with_forms
    assert len({name for name, _, _ in found}) > 15  # the forms were found

    @FUZZ
    @given(data=st.data())
    def one(name, target, form, data):
        response = client.post(target, junk_post(form, data))
        assert response.status_code < 500, (name, target)

    for name, target, form in found:
        one(name, target, form)


PUBLIC_WITH_TOKEN = sorted(name for name, _, pattern in all_url_patterns() if name in PUBLIC and url_kwargs(pattern))


@pytest.mark.parametrize("name", PUBLIC_WITH_TOKEN)
def test_public_pages_survive_junk_tokens(name, client, db):
    pattern = next(p for n, _, p in all_url_patterns() if n == name)
    # every part of the URL is the token (the password reset link has two: uid and token)
    base = reverse(name, kwargs={key: "TOKEN" for key in url_kwargs(pattern)})

    @FUZZ
    @given(token=st.one_of(NASTY, st.text(min_size=1, max_size=200)), body=st.dictionaries(st.text(max_size=8), VALUE))
    def one(token, body):
        url = base.replace("TOKEN", quote(token, safe="") or "x")
        assert client.get(url).status_code in (200, 404, 410)
        assert client.post(url, body).status_code < 500

    one()


def test_the_login_form_survives_junk(client, mgr_a):
    @FUZZ
    @given(body=st.fixed_dictionaries({"username": VALUE, "password": VALUE}), next_=VALUE)
    def one(body, next_):
        response = client.post(reverse("login") + "?next=" + quote(next_, safe=""), body)
        assert response.status_code in (200, 302, 403, 429)

    one()


def test_customer_list_query_strings_never_leave_the_scope(cust_a, cust_c, pool_customer, mgr_b, client_for):
    # AC-03: whatever the filters, sort and page, only mgr_b's visible customers appear
    CustomerFactory(name="Bravo Own", manager=mgr_b)
    client = client_for(mgr_b)
    visible = set(Customer.objects.visible_to(mgr_b).values_list("pk", flat=True))
    page = client.get(reverse("customers:customer_list")).content.decode()
    filters = [name for form in forms_on(page) if form.method == "get" for name in form.fields]
    assert filters
    keys = st.sampled_from([*filters, "sort", "page", "per_page", "manager", "owner", "team", "q"])

    @FUZZ
    @given(params=st.dictionaries(keys, st.one_of(VALUE, st.sampled_from([str(cust_a.pk), str(cust_c.pk)])),
                                  max_size=6))
    def one(params):
        response = client.get(reverse("customers:customer_list"), params)
        assert response.status_code in (200, 404)
        shown = {int(pk) for pk in re.findall(r'href="/customers/(\d+)/"', response.content.decode())}
        assert shown <= visible

    one()
