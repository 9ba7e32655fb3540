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
