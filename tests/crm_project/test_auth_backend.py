"""crm_project.auth_backend: the same permissions as Django's ModelBackend, with the
user's group names, in one query per request."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm_project.auth_backend import OneQueryModelBackend
from customers.access import DIRECTOR, MANAGER, user_role

pytestmark = pytest.mark.django_db


def fresh(user):
    """The user as a new request sees it: no per-request caches."""
    return get_user_model().objects.get(pk=user.pk)


def test_permissions_equal_model_backends_for_every_kind_of_user(mgr_a, dir_1, admin_user):
    extra = get_user_model().objects.create_user("both", password="x")
    extra.groups.add(Group.objects.get(name=MANAGER))
    extra.user_permissions.add(Permission.objects.get(codename="view_all_customers"))
    inactive = get_user_model().objects.create_user("gone", password="x", is_active=False)
    inactive.groups.add(Group.objects.get(name=MANAGER))
    for user in (mgr_a, dir_1, admin_user, extra, inactive):
        ours, django = OneQueryModelBackend(), ModelBackend()
        assert ours.get_all_permissions(fresh(user)) == django.get_all_permissions(fresh(user)), user
        assert ours.get_user_permissions(fresh(user)) == django.get_user_permissions(fresh(user)), user
        assert ours.get_group_permissions(fresh(user)) == django.get_group_permissions(fresh(user)), user
    assert "customers.view_all_customers" in OneQueryModelBackend().get_all_permissions(fresh(extra))
    assert OneQueryModelBackend().get_all_permissions(fresh(inactive)) == set()


def test_a_permission_check_and_the_role_cost_one_query(mgr_a):
    user = fresh(mgr_a)
    with CaptureQueriesContext(connection) as queries:
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("customers.view_all_customers")
        assert user_role(user) == MANAGER
    assert len(queries) == 1


def test_a_changed_group_counts_at_the_next_request(mgr_a, client_for):
    client = client_for(mgr_a)
    assert client.get("/customers/agenda/").status_code == 200
    mgr_a.groups.clear()
    assert client.get("/customers/agenda/").status_code == 403
    mgr_a.groups.add(Group.objects.get(name=DIRECTOR))
    assert user_role(fresh(mgr_a)) == DIRECTOR


def test_the_sessions_user_comes_with_permissions_and_groups_in_one_query(mgr_a, dir_1, admin_user):
    nobody = get_user_model().objects.create_user("nobody", password="x")  # no group, no permission
    for user in (mgr_a, dir_1, admin_user, nobody):
        with CaptureQueriesContext(connection) as queries:
            ours = OneQueryModelBackend().get_user(str(user.pk))
            role = user_role(ours)
            if not user.is_superuser:  # a superuser's are all permissions, read as ModelBackend does
                ours.has_perm("customers.view_customer")
        assert len(queries) == 1, user
        permissions = OneQueryModelBackend().get_all_permissions(ours)
        theirs = ModelBackend().get_user(user.pk)
        assert {f.attname: getattr(ours, f.attname) for f in ours._meta.concrete_fields} == {
            f.attname: getattr(theirs, f.attname) for f in theirs._meta.concrete_fields
        }
        assert ours.last_login == theirs.last_login and ours.date_joined == theirs.date_joined  # aware datetimes
        assert ours._state.adding is False and ours._state.db == theirs._state.db
        assert permissions == ModelBackend().get_all_permissions(fresh(user)), user
        assert role == user_role(fresh(user))
    assert OneQueryModelBackend().get_user(str(nobody.pk))._group_names == frozenset()


def test_the_sessions_user_is_none_when_missing_inactive_or_malformed(mgr_a):
    inactive = get_user_model().objects.create_user("gone", password="x", is_active=False)
    assert OneQueryModelBackend().get_user("999999") is None
    assert OneQueryModelBackend().get_user(str(inactive.pk)) is None
    assert OneQueryModelBackend().get_user("not a number") is None


def test_a_page_reads_the_user_and_their_permissions_in_one_query(mgr_a, client_for):
    client = client_for(mgr_a)
    client.get("/loyalty/pos/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/loyalty/pos/").status_code == 200
    # the session, then the user with permissions and groups; nothing else on an empty lookup
    assert len(queries) == 2, [q["sql"][:80] for q in queries]
    if connection.vendor == "postgresql":
        # both statements prepared on the server by the first request, named by the next
        assert all(q["sql"].startswith("EXECUTE crm_") for q in queries), [q["sql"][:80] for q in queries]
