"""The session store (crm_project.session_store): Django's database sessions, read with a
statement compiled once. It must read exactly what db.SessionStore reads: the row of the
key while it has not expired, nothing for an expired, deleted or unknown key."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm_project.session_store import SessionStore

pytestmark = pytest.mark.django_db

LIST = "customers:customer_list"


def test_the_project_uses_it():
    assert settings.SESSION_ENGINE == "crm_project.session_store"


def _stored(data: dict) -> str:
    store = DjangoStore()
    store.update(data)
    store.create()
    return store.session_key


@pytest.mark.parametrize("store_class", [SessionStore, DjangoStore])
def test_reads_what_django_reads(store_class):
    key = _stored({"a": 1, "b": "two"})
    assert dict(store_class(key).items()) == {"a": 1, "b": "two"}


@pytest.mark.parametrize("store_class", [SessionStore, DjangoStore])
def test_an_expired_session_reads_empty_and_forgets_its_key(store_class):
    key = _stored({"a": 1})
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    store = store_class(key)
    assert dict(store.items()) == {}
    assert store.session_key is None


@pytest.mark.parametrize("store_class", [SessionStore, DjangoStore])
def test_a_deleted_or_unknown_session_reads_empty(store_class):
    key = _stored({"a": 1})
    Session.objects.filter(pk=key).delete()
    assert dict(store_class(key).items()) == {}
    assert dict(store_class("x" * 32).items()) == {}


def test_each_read_sees_the_row_as_it_is_now():
    """The compiled statement is run again on every read: nothing is cached but its SQL."""
    key = _stored({"a": 1})
    assert SessionStore(key)["a"] == 1
    row = Session.objects.get(pk=key)
    row.session_data = DjangoStore().encode({"a": 2})
    row.save()
    assert SessionStore(key)["a"] == 2


def test_a_signed_in_page_reads_its_session_and_a_deleted_session_signs_out(mgr_a):
    client = Client()
    client.force_login(mgr_a)
    assert client.get(reverse(LIST)).status_code == 200
    Session.objects.all().delete()
    response = client.get(reverse(LIST))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
