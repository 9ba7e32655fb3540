from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesPipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sales_pipeline"
    verbose_name = _("Sales pipeline")

    def ready(self) -> None:
        from crm_project import hooks

        from . import contributions, demo
        from .services import deals as deal_services

        hooks.register(hooks.CARD_PANELS, contributions.open_deals_panel, order=20)
        hooks.register(hooks.CARD_ANNOTATIONS, contributions.card_annotations, order=20)
        hooks.register(hooks.AGENDA_ROWS, contributions.control_point_rows, order=20)
        hooks.register(hooks.AGENDA_DOSSIER, contributions.open_deal_dossier, order=20)

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_ledger, order=20)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_deals, order=40)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=20)
        hooks.register(hooks.CUSTOMERS_REASSIGNED, deal_services.deals_follow_customers, order=20)
