from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segmentation"
    verbose_name = _("Segmentation")

    def ready(self) -> None:
        from crm_project import hooks

        from . import contact_interval, contributions, demo

        hooks.register(hooks.CARD_PANELS, contributions.classes_panel, order=60)
        hooks.register(hooks.CUSTOMER_COLUMNS, contributions.customer_list_columns, order=60)
        hooks.register(hooks.CONTROL_POINTS, contact_interval.control_point_rows, order=60)
        hooks.register(hooks.AGENDA_ROWS, contact_interval.agenda_rows, order=60)

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_classes, order=60)
        hooks.register(hooks.CONTROL_POINTS, contact_interval.control_point_rows, order=60)
        hooks.register(hooks.AGENDA_ROWS, contact_interval.agenda_rows, order=60)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=60)
