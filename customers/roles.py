"""The three roles as Django groups, with their model permissions.

Each app adds its own models' permissions here as it lands; `roles_sync` runs after
every migrate, so groups always match this table.
"""

from django.contrib.auth.models import Group, Permission

from .access import ADMINISTRATOR, DIRECTOR, MANAGER

# Working deals through the pipeline pages (sales_pipeline.views).
DEAL_PERMISSIONS = [
    "sales_pipeline.view_deal",
    "sales_pipeline.add_deal",
    "sales_pipeline.change_deal",
    "sales_pipeline.view_payment",
    "sales_pipeline.add_payment",
    "sales_pipeline.view_dealdocument",
    "sales_pipeline.add_dealdocument",
]

# Working complaints and surveys (complaints.views).
COMPLAINT_PERMISSIONS = [
    "complaints.view_complaint",
    "complaints.add_complaint",
    "complaints.change_complaint",
    "complaints.view_survey",
    "complaints.add_survey",
    "complaints.view_response",
    "complaints.add_response",
]
# The reports (reporting app): everyone sees their own figures; directors set plans.
REPORT_PERMISSIONS = ["reporting.view_kpiperiod", "reporting.view_plan"]
PLAN_PERMISSIONS = ["reporting.add_plan", "reporting.change_plan"]
# Loyalty cards at work: the card list and card, issuing, corrections (points with a reason,
# floor tier, blocking: each kept with who did it), the point of sale (a redemption is a
# points entry), announcing tier changes, seeing the retention campaigns with their own
# customers in them (loyalty app).
LOYALTY_PERMISSIONS = [
    "loyalty.view_campaign",
    "loyalty.view_card",
    "loyalty.add_card",
    "loyalty.change_card",
    "loyalty.add_pointsentry",
    "loyalty.view_tierchange",
    "loyalty.change_tierchange",
]

# app_label.codename, as in user.has_perm()
ROLE_PERMISSIONS: dict[str, list[str]] = {
    MANAGER: [
        "customers.view_customer",
        "customers.view_segment",
        "customers.view_portraitentry",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_plannedcontact",
        "customers.change_plannedcontact",
        "customers.view_greeting",
        "customers.add_greeting",
        "customers.view_holiday",
        *DEAL_PERMISSIONS,
        *COMPLAINT_PERMISSIONS,
        *REPORT_PERMISSIONS,
        *LOYALTY_PERMISSIONS,
    ],
    DIRECTOR: [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_interaction",
        "customers.add_interaction",
        "customers.view_plannedcontact",
        "customers.change_plannedcontact",
        "customers.view_greeting",
        "customers.add_greeting",
        "customers.view_holiday",
        "customers.view_salesteam",
        "segmentation.add_recomputerun",
        "customers.view_segment",
        "customers.change_segment",
        "customers.view_portraitentry",
        "customers.add_portraitentry",
        "customers.delete_portraitentry",
        "segmentation.view_classificationsettings",
        "sales_pipeline.add_settlementimport",
        "customers.import_customers",
        *DEAL_PERMISSIONS,
        *COMPLAINT_PERMISSIONS,
        *REPORT_PERMISSIONS,
        *PLAN_PERMISSIONS,
        *LOYALTY_PERMISSIONS,
        # retention campaigns: planned, started and stopped by directors
        "loyalty.add_campaign",
        "loyalty.change_campaign",
    ],
    # Administrators work in Django admin: everything on our apps' models.
    ADMINISTRATOR: ["*"],
}

OUR_APPS = ["customers", "segmentation", "sales_pipeline", "loyalty", "complaints", "reporting"]


def _permissions(codes: list[str]):
    if codes == ["*"]:
        return Permission.objects.filter(content_type__app_label__in=OUR_APPS + ["auth"])
    wanted = [code.split(".", 1) for code in codes]
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted},
        codename__in={codename for _, codename in wanted},
    ).select_related("content_type")
    return [p for p in found if [p.content_type.app_label, p.codename] in wanted]


def roles_sync(**kwargs) -> None:
    """Create the role groups and give each exactly its permissions. Idempotent."""
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(codes))
