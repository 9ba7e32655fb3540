from django.apps import AppConfig


class SalesPipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sales_pipeline"
    verbose_name = "Sales pipeline"
