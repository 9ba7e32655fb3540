"""Django's ModelBackend with a user's permissions and group names read in one query per
request (issue 15).

Every page checks a permission and asks the user's role (customers.access.user_role, by
group name): ModelBackend reads the user's own permissions and their groups' in two
queries, and the role cost a third, on every request. Here one UNION ALL returns all
three, kept on the user object for the request as ModelBackend keeps its own (nothing is
cached beyond the request, so a changed group or permission counts at once).

The statement is the same for every user but the id, so it is written once per process
from the models' table and column names: built through the ORM (three querysets, a union,
their compilation) it cost more Python than the query itself on every page, and its
joins through auth_group cost PostgreSQL a millisecond of planning (issue 15, the fixed
cost of every page). A group's permissions are joined on the membership's group id
directly: auth_group adds nothing to them.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router

USER, GROUP, NAME = "user", "group", "name"


@cache
def _sql(alias: str) -> str:
    """The UNION ALL of the user's own permissions (app label, codename), their groups'
    and their groups' names, each part tagged and taking the user's id as its parameter."""
    q = connections[alias].ops.quote_name
    user_model = get_user_model()
    permission, content_type, group = Permission._meta, ContentType._meta, Group._meta
    user_perms = user_model._meta.get_field("user_permissions").remote_field.through._meta
    user_groups = user_model._meta.get_field("groups").remote_field.through._meta
    group_perms = group.get_field("permissions").remote_field.through._meta

    def column(meta, name):
        return f"{q(meta.db_table)}.{q(meta.get_field(name).column)}"

    perm_columns = f"{column(content_type, 'app_label')}, {column(permission, 'codename')}"
    perm_joins = (
        f"{q(permission.db_table)} INNER JOIN {q(content_type.db_table)} "
        f"ON {column(permission, 'content_type')} = {column(content_type, 'id')}"
    )
    own = (
        f"SELECT '{USER}', {perm_columns} FROM {perm_joins} "
        f"INNER JOIN {q(user_perms.db_table)} ON {column(user_perms, 'permission')} = {column(permission, 'id')} "
        f"WHERE {column(user_perms, 'user')} = %s"
    )
    via_groups = (
        f"SELECT '{GROUP}', {perm_columns} FROM {perm_joins} "
        f"INNER JOIN {q(group_perms.db_table)} ON {column(group_perms, 'permission')} = {column(permission, 'id')} "
        f"INNER JOIN {q(user_groups.db_table)} ON {column(user_groups, 'group')} = {column(group_perms, 'group')} "
        f"WHERE {column(user_groups, 'user')} = %s"
    )
    names = (
        f"SELECT '{NAME}', {column(group, 'name')}, '' FROM {q(group.db_table)} "
        f"INNER JOIN {q(user_groups.db_table)} ON {column(user_groups, 'group')} = {column(group, 'id')} "
        f"WHERE {column(user_groups, 'user')} = %s"
    )
    return f"{own} UNION ALL {via_groups} UNION ALL {names}"


def _rows(user) -> list[tuple[str, str, str]]:
    connection = connections[router.db_for_read(Permission)]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.alias), [user.pk] * 3)
        return cursor.fetchall()


def load_permissions(user) -> None:
    """Fill the per-request caches ModelBackend reads (_user_perm_cache, _group_perm_cache)
    and the user's group names (_group_names) with one query; once per user object."""
    if hasattr(user, "_group_names"):
        return
    own, via_groups, names = set(), set(), set()
    for tag, first, second in _rows(user):
        if tag == NAME:
            names.add(first)
        else:
            (own if tag == USER else via_groups).add(f"{first}.{second}")
    if not user.is_superuser:  # a superuser's permissions are all of them: ModelBackend reads those
        user._user_perm_cache, user._group_perm_cache = own, via_groups
    user._group_names = frozenset(names)


def group_names(user) -> frozenset[str]:
    """The names of the user's groups (read with their permissions)."""
    load_permissions(user)
    return user._group_names


class OneQueryModelBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if user_obj.is_active and not user_obj.is_anonymous and obj is None:
            load_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)
