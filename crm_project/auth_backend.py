"""Django's ModelBackend with a user's permissions and group names read in one query
(issue 15).

Every page checks a permission and asks the user's role (customers.access.user_role, by
group name): ModelBackend reads the user's own permissions and their groups' in two
queries, and the role cost a third, on every request. Here one UNION ALL returns all
three, kept on the user object for the request as ModelBackend keeps its own (nothing is
cached beyond the request, so a changed group or permission counts at once).
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value

USER, GROUP, NAME = "user", "group", "name"


def _rows(user):
    def tagged(queryset, tag, *fields):
        # unordered: a UNION's parts may not sort (Permission and Group have a default order)
        return queryset.order_by().annotate(tag=Value(tag, output_field=CharField())).values_list("tag", *fields)

    own = tagged(Permission.objects.filter(user=user), USER, "content_type__app_label", "codename")
    via_groups = tagged(Permission.objects.filter(group__user=user), GROUP, "content_type__app_label", "codename")
    names = Group.objects.filter(user=user).order_by().annotate(
        tag=Value(NAME, output_field=CharField()), blank=Value("", output_field=CharField())
    )
    return own.union(via_groups, names.values_list("tag", "name", "blank"), all=True)


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
