"""Who may see which records. Every queryset of customer-owned data is narrowed here.

Managers see their own customers, the unassigned pool and the customers of the planned
contacts their customer's manager explicitly handed over to them (while that contact is
open); directors see the customers of the teams they direct (and the pool);
administrators, and anyone granted `customers.view_all_customers`, see everything.
Access follows the assignment: having once planned a contact gives nothing.
"""

from django.contrib.auth import get_user_model
from django.db.models import F, Q

MANAGER = "Sales manager"
DIRECTOR = "Sales director"
ADMINISTRATOR = "Administrator"

NOTHING = Q(pk__in=[])


def sees_everything(user) -> bool:
    return user.is_superuser or user.has_perm("customers.view_all_customers")


def user_role(user) -> str | None:
    """The user's highest role, by group; superusers count as administrators."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMINISTRATOR
    if not hasattr(user, "_crm_role"):
        # Cached on the user object, which lives for one request: one query per request.
        names = set(user.groups.values_list("name", flat=True))
        user._crm_role = next((role for role in (ADMINISTRATOR, DIRECTOR, MANAGER) if role in names), None)
    return user._crm_role


def customer_scope(user, prefix: str = "") -> Q:
    """A filter on customers (or, with `prefix="customer__"`, on anything hanging off a
    customer) that keeps only what `user` may see."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if sees_everything(user):
        return Q()
    manager = f"{prefix}manager"
    pool = Q(**{f"{manager}__isnull": True})
    if user_role(user) == DIRECTOR:
        # A subquery, not a join: a customer never appears twice however many
        # directors its team has.
        team_managers = get_user_model().objects.filter(team_membership__team__directors=user)
        return Q(**{f"{manager}__in": team_managers}) | pool | Q(**{manager: user})
    if user_role(user) == MANAGER:
        # A colleague's agenda handed over while they are away brings its customers along,
        # but only contacts the customer's current manager handed over: a reassignment or
        # the hand-back ends the access (customers.agenda, customers.services).
        from .models import PlannedContact

        covering = PlannedContact.objects.filter(
            manager=user, status=PlannedContact.Status.PLANNED, handed_over_from=F("customer__manager")
        )
        covered = Q(**{f"{prefix}pk__in": covering.values("customer_id")})
        return Q(**{manager: user}) | pool | covered
    return NOTHING


def managed_scope(user, *manager_fields: str) -> Q:
    """A filter on records with managers of their own (a deal: its manager and its
    customer's manager) that keeps those `user` may see: records one of whose
    `manager_fields` is the user, for a director also a manager of the teams they direct,
    everything for those who see everything. The unassigned pool gives nothing here: a
    pool customer's deal is its manager's, not every manager's."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if sees_everything(user):
        return Q()
    role = user_role(user)
    if role not in (DIRECTOR, MANAGER) or not manager_fields:
        return NOTHING
    condition = Q()
    for field in manager_fields:
        condition |= Q(**{field: user})
        if role == DIRECTOR:
            team_managers = get_user_model().objects.filter(team_membership__team__directors=user)
            condition |= Q(**{f"{field}__in": team_managers})
    return condition
