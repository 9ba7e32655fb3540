from django.urls import NoReverseMatch

from crm_project.object_urls import page_url

from .access import ADMINISTRATOR, user_role

# (label, url name, who sees it). Entries whose page does not exist yet are left out,
# so the navigation grows as each app lands.
NAVIGATION = [
    ("Agenda", "customers:agenda", None),
    ("Customers", "customers:customer_list", None),
    ("Managed base", "customers:managed_base", None),
    ("Classes", "segmentation:overview", None),
    ("Deals", "sales_pipeline:deal_board", None),
    ("Settlements", "sales_pipeline:settlement_list", None),
    ("Loyalty", "loyalty:card_list", None),
    ("Complaints", "complaints:complaint_list", None),
    ("Reports", "reporting:dashboard", None),
    ("Admin", "admin:index", ADMINISTRATOR),
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
    return {"nav_items": [(label, url, url == active) for label, url in items], "user_role": role}
