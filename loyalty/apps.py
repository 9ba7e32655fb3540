from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save


def _accrue_after_commit(sender, instance, created, **kwargs):
    """A payment's settlement lines earn (or, refunds, take back) points once the payment is
    committed; imports are picked up by the nightly job, which skips what was counted."""
    if not created:
        return
    from .models import Card, Program
    from .tasks import accrue_lines_task

    holds_points = Card.objects.filter(
        holder_id=instance.customer_id, status=Card.Status.ACTIVE, program__kind=Program.Kind.POINTS
    )
    if not holds_points.exists():  # most customers: no task at all
        return

    transaction.on_commit(lambda: accrue_lines_task.delay([instance.pk]))


class LoyaltyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loyalty"
    verbose_name = "Loyalty"

    def ready(self) -> None:
        from crm_project import hooks

        from . import demo, panels

        post_save.connect(
            _accrue_after_commit, sender="sales_pipeline.SettlementLine", dispatch_uid="loyalty.accrue_after_commit"
        )
        hooks.register(hooks.CARD_PANELS, panels.card_panel, order=40)
        hooks.register(hooks.AGENDA_ROWS, panels.agenda_rows, order=40)
        hooks.register(hooks.DASHBOARD_WIDGETS, panels.dashboard_widget, order=40)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_loyalty, order=70)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=70)
