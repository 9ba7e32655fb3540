from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        from crm_project import hooks
        from sales_pipeline.models import Deal

        from . import contributions, demo, signals

        hooks.register(hooks.CARD_PANELS, contributions.card_panel, order=60)
        hooks.register(hooks.CARD_ANNOTATIONS, contributions.card_annotations, order=60)
        hooks.register(hooks.AGENDA_ROWS, contributions.agenda_rows, order=80)
        hooks.register(hooks.DASHBOARD_WIDGETS, contributions.dashboard_widget, order=80)
        hooks.register(hooks.PROCESS_HEALTH, contributions.health_checks, order=80)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_complaints, order=80)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=80)
        post_save.connect(signals.deal_saved, sender=Deal, dispatch_uid="complaints.deal_grade")
