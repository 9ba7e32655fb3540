"""Issue 15: RetryDue, the deals lost at Presentation whose retry is still to be kept (no
newer deal of the customer since), kept by the deals' triggers (migration 0014). Through
every kind of write, the kept rows must equal the rule computed from the deals themselves,
and the control point "retry date reached" must list them."""

from datetime import timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from sales_pipeline.control_points import control_points
from sales_pipeline.models import Deal, RefusalReason, RetryDue, Stage
from sales_pipeline.services import deals as deal_services
from tests.factories import CustomerFactory
from tests.sales_pipeline.test_pipeline import open_deal

TODAY = timezone.localdate


def _kept() -> dict:
    return dict(RetryDue.objects.values_list("deal_id", "retry_date"))


def _rule() -> dict:
    newer = Deal.objects.filter(customer_id=OuterRef("customer_id"), created_at__gt=OuterRef("closed_at"))
    deals = Deal.objects.filter(status="lost", stage=Stage.PRESENTATION, retry_date__isnull=False)
    return dict(deals.exclude(Exists(newer)).values_list("pk", "retry_date"))


def _lost(manager, customer=None, *, days=30):
    deal = open_deal(manager, customer)
    reason = RefusalReason.objects.filter(stage=Stage.PRESENTATION).first()
    retry = TODAY() + timedelta(days=days)
    deal_services.deal_lose(deal=deal, reason=reason, comment="Next year", retry_date=retry, actor=manager)
    return Deal.objects.get(pk=deal.pk)


def _listed(user, today) -> list[int]:
    return [p.deal_id for p in control_points(user=user, today=today, kinds={"retry_reached"})]


def test_the_kept_retries_equal_the_rule_through_every_write(mgr_a, mgr_b):
    first, second = _lost(mgr_a), _lost(mgr_a, days=40)
    assert _kept() == _rule() == {first.pk: first.retry_date, second.pk: second.retry_date}
    later = TODAY() + timedelta(days=60)
    assert _listed(mgr_a, later) == [first.pk, second.pk]
    # a newer deal of the first customer: its retry goes
    newer = open_deal(mgr_a, customer=first.customer, at=timezone.now() + timedelta(seconds=5))
    assert _kept() == _rule() == {second.pk: second.retry_date}
    assert _listed(mgr_a, later) == [second.pk]
    # the newer deal dated back before the refusal (an edit in admin): the retry is back
    Deal.objects.filter(pk=newer.pk).update(created_at=first.closed_at - timedelta(days=1))
    assert _kept() == _rule() and first.pk in _kept()
    # moved to the second customer: now the second retry is superseded, the first kept
    Deal.objects.filter(pk=newer.pk).update(customer=second.customer, created_at=timezone.now() + timedelta(days=1))
    assert _kept() == _rule() == {first.pk: first.retry_date}
    # deleted: the second retry is back
    Deal.objects.filter(pk=newer.pk).delete()
    assert _kept() == _rule() == {first.pk: first.retry_date, second.pk: second.retry_date}
    # the retry date moved, then cleared
    Deal.objects.filter(pk=first.pk).update(retry_date=TODAY() + timedelta(days=90))
    assert _kept() == _rule() and _kept()[first.pk] == TODAY() + timedelta(days=90)
    assert _listed(mgr_a, later) == [second.pk]
    Deal.objects.filter(pk=first.pk).update(retry_date=None)
    assert _kept() == _rule() == {second.pk: second.retry_date}
    # reopened (status back to open): no longer a lost presentation
    Deal.objects.filter(pk=second.pk).update(status=Deal.Status.OPEN)
    assert _kept() == _rule() == {}
    Deal.objects.filter(pk=second.pk).update(status=Deal.Status.LOST)
    # imported in bulk: a lost deal with a retry, and a newer deal of another customer
    customer = CustomerFactory(manager=mgr_b)
    closed = timezone.now() - timedelta(days=3)
    Deal.objects.bulk_create(
        [
            Deal(
                customer=customer, manager=mgr_b, title="Imported", stage=Stage.PRESENTATION, status="lost",
                retry_date=TODAY() + timedelta(days=5), closed_at=closed, created_at=closed - timedelta(days=9),
            ),
            Deal(customer=second.customer, manager=mgr_a, title="Imported newer", created_at=timezone.now()),
        ]
    )  # fmt: skip
    assert _kept() == _rule()
    assert second.pk not in _kept() and len(_kept()) == 1
    assert _listed(mgr_b, later) == list(_kept())
    # the deal itself deleted
    Deal.objects.filter(customer=customer).delete()
    assert _kept() == _rule() == {}


def test_a_stage_edit_that_leaves_the_rule_alone_keeps_the_row(mgr_a):
    deal = _lost(mgr_a)
    Deal.objects.filter(pk=deal.pk).update(title="Renamed", lost_comment="Call in spring")
    assert _kept() == _rule() == {deal.pk: deal.retry_date}
