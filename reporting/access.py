"""Whose figures a user sees in reports: a figure counts for a manager (the line's or the
customer's), so reports are scoped by that manager. Managers see their own figures only,
directors those of the managers of the teams they direct (and the unassigned pool's and
their own), administrators everything (domain.md section 1)."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from customers.access import DIRECTOR, MANAGER, NOTHING, sees_everything, user_role


def manager_scope(user, field: str = "manager") -> Q:
    """A filter on anything with a manager `field` that keeps the figures `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if sees_everything(user):
        return Q()
    if user_role(user) == DIRECTOR:
        team_managers = get_user_model().objects.filter(team_membership__team__directors=user)
        return Q(**{f"{field}__in": team_managers}) | Q(**{f"{field}__isnull": True}) | Q(**{field: user.pk})
    if user_role(user) == MANAGER:
        return Q(**{field: user.pk})
    return NOTHING


def visible_managers(user):
    """The sales managers whose rows `user` sees (the unassigned row aside)."""
    users = get_user_model().objects.filter(manager_scope(user, "pk"))
    return users.filter(is_active=True, groups__name=MANAGER).distinct()
