from django.apps import AppConfig


class SegmentationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "segmentation"
    verbose_name = "Segmentation"

    def ready(self) -> None:
        from crm_project import hooks

        from . import contributions, demo

        hooks.register(hooks.CARD_PANELS, contributions.classes_panel, order=60)
        hooks.register(hooks.CUSTOMER_COLUMNS, contributions.customer_list_columns, order=60)

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_classes, order=60)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=60)
