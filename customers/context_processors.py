from django.urls import NoReverseMatch
from django.utils.translation import gettext_lazy as _

from crm_project.object_urls import page_url

from .access import ADMINISTRATOR, ROLE_LABELS, user_role

# (label, url name, who sees it). Entries whose page does not exist yet are left out,
# so the navigation grows as each app lands.
NAVIGATION = [
    (_("Agenda"), "customers:agenda", None),
    (_("Customers"), "customers:customer_list", None),
    (_("Managed base"), "customers:managed_base", None),
    (_("Classes"), "segmentation:overview", None),
    (_("Deals"), "sales_pipeline:deal_board", None),
    (_("Settlements"), "sales_pipeline:settlement_list", None),
    (_("Loyalty"), "loyalty:card_list", None),
    (_("Complaints"), "complaints:complaint_list", None),
    (_("Reports"), "reporting:dashboard", None),
    (_("Admin"), "admin:index", ADMINISTRATOR),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = user_role(user)
    items = []
    for label, name, only_for in NAVIGATION:
        if only_for and role != only_for:
            continue
        try:
            items.append((label, page_url(name)))  # reversed once: this runs on every page
        except NoReverseMatch:
            continue
    # The active item is the one whose address is the longest prefix of this page's.
    matching = [url for _, url in items if request.path.startswith(url)]
    active = max(matching, key=len) if matching else None
    return {
        "nav_items": [(label, url, url == active) for label, url in items],
        "user_role": role,
        "user_role_label": ROLE_LABELS.get(role, role),
    }
