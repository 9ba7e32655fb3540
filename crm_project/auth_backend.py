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

The user a request's session names is read by the same statement (get_user): the user's
row joined to those rows, so a page pays one round trip for the user, the role and the
permissions instead of two. On PostgreSQL that statement is prepared on the server once
per connection (crm_project.prepared): planning its four joins cost more than running it.
"""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connections, router

from crm_project.prepared import RawStatement, fetch_all

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
        f"SELECT '{USER}' AS perm_tag, {column(content_type, 'app_label')} AS perm_first, "
        f"{column(permission, 'codename')} AS perm_second FROM {perm_joins} "
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


@cache
def _user_statement(alias: str) -> RawStatement:
    """The user's row (all concrete fields) with the rows of _sql joined to it: as many
    rows as the user has permissions and groups, one (the tags NULL) when none."""
    q = connections[alias].ops.quote_name
    meta = get_user_model()._meta
    columns = ", ".join(f"u.{q(field.column)}" for field in meta.concrete_fields)
    sql = (
        f"SELECT {columns}, p.perm_tag, p.perm_first, p.perm_second FROM {q(meta.db_table)} u "
        f"LEFT JOIN ({_sql(alias)}) p ON 1 = 1 "
        f"WHERE u.{q(meta.pk.column)} = %s"
    )
    return RawStatement(sql, alias)


def _fill(user, rows) -> None:
    """The per-request caches from the (tag, first, second) rows of _sql."""
    own, via_groups, names = set(), set(), set()
    for tag, first, second in rows:
        if tag == NAME:
            names.add(first)
        elif tag is not None:
            (own if tag == USER else via_groups).add(f"{first}.{second}")
    if not user.is_superuser:  # a superuser's permissions are all of them: ModelBackend reads those
        user._user_perm_cache, user._group_perm_cache = own, via_groups
    user._group_names = frozenset(names)


def user_with_permissions(user_id):
    """The user with this id, their permissions and group names loaded (as load_permissions
    does), in one query; None when there is no such user."""
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    connection = connections[router.db_for_read(user_model)]
    rows = fetch_all(_user_statement(connection.alias), [pk] * 4)
    if not rows:
        return None
    fields = user_model._meta.concrete_fields
    values = list(rows[0][: len(fields)])
    # the converters the ORM applies to these columns (SQLite's aware datetimes, booleans)
    for index, field in enumerate(fields):
        col = field.get_col(user_model._meta.db_table)
        for converter in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            values[index] = converter(values[index], col, connection)
    user = user_model.from_db(connection.alias, [field.attname for field in fields], values)
    _fill(user, (row[len(fields) :] for row in rows))
    return user


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
    _fill(user, _rows(user))


def group_names(user) -> frozenset[str]:
    """The names of the user's groups (read with their permissions)."""
    load_permissions(user)
    return user._group_names


class OneQueryModelBackend(ModelBackend):
    def get_user(self, user_id):
        """The session's user with their permissions and groups: one query per request."""
        user = user_with_permissions(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if user_obj.is_active and not user_obj.is_anonymous and obj is None:
            load_permissions(user_obj)
        return super().get_all_permissions(user_obj, obj)
