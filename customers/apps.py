from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm_project import tables

        # Before any table class is built (they pick their date columns when defined).
        tables.install()

        from crm_project.translation import prune_default_language

        # the site language's catalog without its empty fallbacks (every page's gettext)
        prune_default_language()

        from .roles import roles_sync

        # Groups need the permissions that migrate creates, so they follow it.
        post_migrate.connect(roles_sync, dispatch_uid="customers.roles_sync")

        from django.conf import settings
        from django.db.models.signals import pre_delete

        from crm_project.history import keep_actor_names

        # a deleted user's history rows keep its username (the user key becomes NULL)
        pre_delete.connect(keep_actor_names, sender=settings.AUTH_USER_MODEL, dispatch_uid="crm.keep_actor_names")

        from . import sessions

        # logout and a disabled account end the user's sessions on every device
        sessions.connect()

        from crm_project import hooks

        from . import demo

        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_profiles, order=10)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_segments, order=30)
