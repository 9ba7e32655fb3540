from django.apps import AppConfig


class SalesPipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sales_pipeline"
    verbose_name = "Sales pipeline"

    def ready(self) -> None:
        from crm_project import hooks

        from . import demo, pipeline

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_ledger, order=20)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_deals, order=40)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=20)
        hooks.register(hooks.CUSTOMERS_REASSIGNED, pipeline.deals_follow_customers, order=20)
