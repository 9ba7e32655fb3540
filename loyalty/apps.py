from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _accrue_after_payment(sender, instance, created, **kwargs):
    """A payment (or refund) earns (or takes back) points once it is committed with its
    settlement lines: the customer's lines of that day are accrued, which is idempotent.
    The payment row is saved one at a time, whereas its lines may be bulk-inserted (no
    signal); imports are picked up by the nightly job, which skips what was counted."""
    if not created:
        return
    from .models import Card, Program
    from .tasks import accrue_customer_day_task

    customer_id = instance.deal.customer_id
    holds_points = Card.objects.filter(
        holder_id=customer_id, status=Card.Status.ACTIVE, program__kind=Program.Kind.POINTS
    )
    if not holds_points.exists():  # most customers: no task at all
        return
    day = instance.date.isoformat()
    transaction.on_commit(lambda: _queue_accrual(accrue_customer_day_task, customer_id, day))


def _queue_accrual(task, customer_id, day):
    # The payment is committed whatever the broker does: with the queue down, the
    # nightly job accrues that day instead (accrual skips what was counted).
    from crm_project.queue import QueueUnavailable, enqueue

    try:
        enqueue(task, customer_id, day)
    except QueueUnavailable:
        pass


class LoyaltyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from crm_project import hooks

        from . import demo, measure_store, panels

        post_save.connect(
            _accrue_after_payment, sender="sales_pipeline.Payment", dispatch_uid="loyalty.accrue_after_payment"
        )
        hooks.register(hooks.CARD_PANELS, panels.card_panel, order=40)
        hooks.register(hooks.CARD_ANNOTATIONS, panels.card_annotations, order=40)
        hooks.register(hooks.AGENDA_ROWS, panels.agenda_rows, order=40)
        hooks.register(hooks.DASHBOARD_WIDGETS, panels.dashboard_widget, order=40)
        hooks.register(hooks.DASHBOARD_FACTS, panels.dashboard_facts)
        hooks.register(hooks.LEDGER_CHANGED, measure_store.measures_mark_stale)
        hooks.register(hooks.CUSTOMERS_REASSIGNED, measure_store.measures_after_reassignment, order=90)
        hooks.register(hooks.DEMO_SEEDERS, demo.seed_demo_loyalty, order=70)
        hooks.register(hooks.DEMO_RESETS, demo.reset_demo, order=70)
