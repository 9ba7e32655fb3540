from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from .roles import roles_sync

        # Groups need the permissions that migrate creates, so they follow it.
        post_migrate.connect(roles_sync, dispatch_uid="customers.roles_sync")
