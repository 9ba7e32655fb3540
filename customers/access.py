"""Who may see which records, and whose managers a user may assign or cover for. Every
queryset of customer-owned data is narrowed here.

Managers see their own customers, the unassigned pool and the customers of the planned
contacts their customer's manager explicitly handed over to them (while that contact is
open); directors see the customers of the teams they direct (and the pool);
administrators, and anyone granted `customers.view_all_customers`, see everything.
Access follows the assignment: having once planned a contact gives nothing.
"""

from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import pgettext_lazy

from crm_project import lookups  # noqa: F401 - registers __in_array
from crm_project.auth_backend import group_names

MANAGER = "Sales manager"
DIRECTOR = "Sales director"
ADMINISTRATOR = "Administrator"
# The roles' names as people read them (the groups' names above are the roles' keys).
ROLE_LABELS = {
    MANAGER: pgettext_lazy("role", "Sales manager"),
    DIRECTOR: pgettext_lazy("role", "Sales director"),
    ADMINISTRATOR: pgettext_lazy("role", "Administrator"),
}

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
        # Cached on the user object, which lives for one request; the group names come
        # with the user's permissions, in the query every page makes anyway.
        names = group_names(user)
        user._crm_role = next((role for role in (ADMINISTRATOR, DIRECTOR, MANAGER) if role in names), None)
    return user._crm_role


def customer_scope(user, prefix: str = "") -> Q:
    """A filter on customers (or, with `prefix="customer__"`, on anything hanging off a
    customer) that keeps only what `user` may see."""
    return owned_scope(user, manager=f"{prefix}manager", customer=f"{prefix}pk")


def own_customers_scope(user, manager, prefix: str = "") -> Q:
    """customer_scope for rows already narrowed to the customers whose manager is
    `manager` (a user or an id; `prefix` as for customer_scope): nothing more when those
    are the user's own, whom a manager, a director and whoever sees everything all see;
    customer_scope otherwise. The same rows, without the scope's subqueries to build and
    run on a user's own agenda."""
    return Q() if sees_own(user, manager) else customer_scope(user, prefix)


def sees_own(user, manager) -> bool:
    """`manager` (a user or an id) is `user`, who sees their own records: an active
    manager, director or whoever sees everything (what customer_scope and managed_scope
    give such a user on their own rows)."""
    if manager is None or getattr(manager, "pk", manager) != user.pk:
        return False
    if not (user.is_authenticated and user.is_active):
        return False
    return sees_everything(user) or user_role(user) in (MANAGER, DIRECTOR)


def scope_key(user) -> tuple:
    """What customer_scope(user) and managed_scope(user) are made of besides their field
    names: a statement built with either may be kept under this key (crm_project.prepared)."""
    role = user_role(user)
    return (
        user.pk,
        user.is_authenticated and user.is_active,
        sees_everything(user),
        role,
        tuple(directed_managers(user)) if role == DIRECTOR else (),
    )


def owned_scope(user, *, manager: str, customer: str) -> Q:
    """customer_scope on rows that keep a copy of their customer's manager: `manager` the
    manager field, `customer` the customer's id field (reporting's by-customer rows)."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if sees_everything(user):
        return Q()
    pool = Q(**{f"{manager}__isnull": True})
    if user_role(user) == DIRECTOR:
        # A subquery, not a join: a customer never appears twice however many
        # directors its team has.
        return Q(**{f"{manager}__in": directed_managers(user)}) | pool | Q(**{manager: user})
    if user_role(user) == MANAGER:
        # A colleague's agenda handed over while they are away brings its customers along,
        # but only contacts the customer's current manager handed over: a reassignment or
        # the hand-back ends the access (customers.services.agenda, customers.services.profiles).
        # in_array: the same rows as __in, costed by PostgreSQL as the one-off lookup it is
        # (crm_project.lookups): counts and pages probe the rows they show
        covered = Q(**{f"{customer}__in_array": _covering_contacts(user).values("customer_id")})
        return Q(**{manager: user}) | pool | covered
    return NOTHING


def counted_scope(user, *, manager: str):
    """customer_scope for rows counted per customer's manager (`manager` the count's
    manager field, 0 for the unassigned pool): (a filter on those rows, the customers
    outside it the user also sees (a queryset of customer ids) or None). Together they
    are exactly customer_scope: a manager's own and the pool's counts plus the customers
    handed over to them by another manager, counted one by one."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING, None
    if sees_everything(user):
        return Q(), None
    own = Q(**{f"{manager}__in": [user.pk, 0]})
    if user_role(user) == DIRECTOR:
        return own | Q(**{f"{manager}__in": directed_managers(user)}), None
    if user_role(user) == MANAGER:
        # handed_over_from is the customer's current manager (_covering_contacts), never
        # the pool; the user's own customers are counted already
        covered = _covering_contacts(user).exclude(handed_over_from=user).values("customer_id")
        return own, covered
    return NOTHING, None


def _covering_contacts(user):
    """The open planned contacts a customer's manager handed over to `user`."""
    from .models import PlannedContact

    return PlannedContact.objects.filter(
        manager=user,
        status=PlannedContact.Status.PLANNED,
        # implied by the next condition; said so that the partial index plannedcontact_covering serves
        handed_over_from__isnull=False,
        handed_over_from=F("customer__manager"),
    )


def directed_managers(user) -> list[int]:
    """The ids of the managers of the teams `user` directs, read once per user object (it
    lives for one request, as with user_role). Given to the database as literal ids, not
    as a subquery: the planner then knows how many customers they hold, and a director's
    scoped counts probe the rows they count instead of scanning every customer (issue 15:
    the survey list's count 35 -> 10 ms at 50,000 customers)."""
    if not hasattr(user, "_crm_directed"):
        user._crm_directed = sorted(set(
            get_user_model().objects.filter(team_membership__team__directors=user).values_list("pk", flat=True)
        ))
    return user._crm_directed


def own_records_scope(user, manager, *manager_fields: str) -> Q:
    """managed_scope(user, *manager_fields) for records already narrowed to those whose
    first manager field is `manager` (a user or an id): nothing more when that is the user,
    whose own records a manager, a director and whoever sees everything all see;
    managed_scope otherwise. The same rows, without the scope's conditions and joins to
    build, compile and run (a manager's own control points on the agenda)."""
    return Q() if manager_fields and sees_own(user, manager) else managed_scope(user, *manager_fields)


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
            condition |= Q(**{f"{field}__in": directed_managers(user)})
    return condition


#
# Whose managers a user may see, assign, and cover for: the one place for every form,
# filter, import and the agenda's hand-over
#


def assignable_managers(user):
    """Managers `user` may hand a customer or a deal to: a director's team members, or
    everyone in a team for those who see everything. Managers cannot reassign."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if sees_everything(user):
        return users.filter(team_membership__isnull=False)
    if user_role(user) == DIRECTOR:
        return users.filter(pk__in=directed_managers(user))
    return users.none()


def managers_visible(request):
    """The managers of the customers `request.user` sees: a list filter's choices."""
    if request is None:
        return get_user_model().objects.none()
    managers = managers_visible_to(request.user)
    return get_user_model().objects.none() if managers is None else managers


def managers_visible_shape(request) -> tuple | None:
    """What managers_visible(request) is built from, as a crm_project.prepared shape (the
    user and scope_key), or None when it is empty whoever asks."""
    if request is None:
        return None
    user = request.user
    if not user.is_authenticated or not user.is_active:
        return None
    if not sees_everything(user) and user_role(user) not in (DIRECTOR, MANAGER):
        return None
    return user, scope_key(user)


def managers_visible_to(user):
    """managers_visible for `user`, or None for none at all (managers_visible_shape None)."""
    from .models import Customer

    users = get_user_model().objects.order_by("username")
    if not user.is_authenticated or not user.is_active:  # customer_scope's NOTHING
        return None
    # Not "the managers of every visible customer" (a scan of the user's whole base on
    # every list page): the few users who could manage a visible customer, each kept if
    # one such customer exists (an index probe per user). Every customer of a candidate is
    # visible, or one of them is: a director's teams and their own, a manager's own, and
    # for a colleague who handed over a contact that contact's customer (its manager is
    # the colleague, _covering_contacts). So "manages a customer" is the test, without the
    # user's scope (issue 15: the scope's subqueries built and planned again per page).
    if sees_everything(user):
        candidates = users
    elif user_role(user) == DIRECTOR:
        candidates = users.filter(Q(pk=user.pk) | Q(pk__in=directed_managers(user)))
    elif user_role(user) == MANAGER:
        covering = _covering_contacts(user).values("handed_over_from")
        candidates = users.filter(Q(pk=user.pk) | Q(pk__in=covering))
    else:
        return None
    return candidates.filter(Exists(Customer.objects.filter(manager=OuterRef("pk"))))


def manager_choices(user):
    """Managers whose deals `user` may filter by: everyone for admins, a director's
    teams, a manager themselves."""
    if sees_everything(user):
        return get_user_model().objects.filter(groups__name=MANAGER, is_active=True).order_by("username")
    if user_role(user) == DIRECTOR:
        return assignable_managers(user)
    return get_user_model().objects.filter(pk=user.pk)


def directs_agenda_of(actor, user) -> bool:
    """Whether `actor` may act on `user`'s agenda as a superior: administrators (and
    anyone who sees everything) for anyone, a director for the managers of their teams."""
    from .models import SalesTeam

    if sees_everything(actor):
        return True
    if user_role(actor) != DIRECTOR:
        return False
    return SalesTeam.objects.filter(memberships__user=user, directors=actor).exists()


def hand_over_targets(*, from_user, actor):
    """Who may take over `from_user`'s agenda: the other active managers of their team,
    whoever hands it over (a director and an administrator too: the colleague covering
    must be one the team's director directs). A manager without a team has no one.
    `actor` is kept for the callers; the rule does not depend on it."""
    return hand_over_targets_of(from_user.pk)


def hand_over_targets_of(from_user_id):
    """hand_over_targets by the id of whoever hands over (a value or a prepared query's slot)."""
    from .models import TeamMembership

    team = TeamMembership.objects.filter(user_id=from_user_id).values("team_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=MANAGER, team_membership__team_id__in=team)
        .exclude(pk=from_user_id)
        .order_by("first_name", "last_name", "username")
    )


def figures_scope(user, field: str = "manager") -> Q:
    """Whose figures `user` sees in reports, as a filter on a manager `field` (a figure
    counts for the line's or the customer's manager): a manager their own, a director the
    managers of the teams they direct plus the unassigned pool's and their own, those who
    see everything everything (domain.md section 1)."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    if sees_everything(user):
        return Q()
    if user_role(user) == DIRECTOR:
        return Q(**{f"{field}__in": directed_managers(user)}) | Q(**{f"{field}__isnull": True}) | Q(**{field: user.pk})
    if user_role(user) == MANAGER:
        return Q(**{field: user.pk})
    return NOTHING


def figures_managers(user):
    """The sales managers whose report rows `user` sees (the unassigned row aside)."""
    users = get_user_model().objects.filter(figures_scope(user, "pk"))
    return users.filter(is_active=True, groups__name=MANAGER).distinct()
