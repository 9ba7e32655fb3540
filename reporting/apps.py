from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _seed_demo(demo) -> None:
    from . import demo as module  # pandas and the fill load on use, not at start-up

    module.seed_demo_reporting(demo)


def _reset_demo() -> None:
    from . import demo as module

    module.reset_demo()


def _ledger_changed(*, since) -> None:
    from . import services

    services.ledger_changed(since=since)


def _customers_reassigned(*, customer_ids, actor, reason) -> None:
    from . import services

    services.customer_rows_follow(customer_ids=list(customer_ids), actor=actor, reason=reason)


class ReportingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reporting"
    verbose_name = _("Reporting")

    def ready(self) -> None:
        from crm_project import hooks

        hooks.register(hooks.DEMO_SEEDERS, _seed_demo, order=90)
        hooks.register(hooks.DEMO_RESETS, _reset_demo, order=90)
        hooks.register(hooks.LEDGER_CHANGED, _ledger_changed)
        hooks.register(hooks.CUSTOMERS_REASSIGNED, _customers_reassigned, order=90)
