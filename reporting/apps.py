from django.apps import AppConfig


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from crm_project import hooks

        from . import demo

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_reporting, order=90)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=90)
