"""LastInteraction, the newest interaction per customer kept by the interaction table's
triggers (customers migration 0008), against MAX(occurred_at) over the interactions
themselves, through every kind of write the app and the benches make."""

from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

from customers.models import Interaction, LastInteraction
from tests.factories import CustomerFactory


def _kept() -> dict:
    return dict(LastInteraction.objects.values_list("customer_id", "occurred_at"))


def _computed() -> dict:
    newest = Interaction.objects.values("customer_id").annotate(m=Max("occurred_at"))
    return dict(newest.values_list("customer_id", "m"))


def _at(day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(2026, 3, day, hour))


def test_the_kept_last_interaction_equals_the_max_through_inserts_updates_and_deletes(mgr_a):
    one, two, three = (CustomerFactory(manager=mgr_a) for _ in range(3))
    assert _kept() == {}
    first = Interaction.objects.create(customer=one, manager=mgr_a, summary="Call", occurred_at=_at(5))
    assert _kept() == _computed() == {one.pk: _at(5)}
    Interaction.objects.create(customer=one, manager=mgr_a, summary="Older", occurred_at=_at(2))
    assert _kept() == _computed() == {one.pk: _at(5)}  # an older one does not move it back
    Interaction.objects.bulk_create(
        [
            Interaction(customer=two, manager=mgr_a, summary="a", occurred_at=_at(7)),
            Interaction(customer=two, manager=mgr_a, summary="b", occurred_at=_at(9, 8)),
            Interaction(customer=one, manager=mgr_a, summary="c", occurred_at=_at(6)),
        ]
    )
    assert _kept() == _computed() == {one.pk: _at(6), two.pk: _at(9, 8)}
    # moved earlier: the next newest takes over
    Interaction.objects.filter(customer=one, occurred_at=_at(6)).update(occurred_at=_at(1))
    assert _kept() == _computed() == {one.pk: _at(5), two.pk: _at(9, 8)}
    # moved to another customer: both recomputed
    first.customer = three
    first.save()
    assert _kept() == _computed() == {one.pk: _at(2), two.pk: _at(9, 8), three.pk: _at(5)}
    Interaction.objects.filter(customer=two).order_by("occurred_at").first().delete()
    assert _kept() == _computed() == {one.pk: _at(2), two.pk: _at(9, 8), three.pk: _at(5)}
    Interaction.objects.filter(customer=two).delete()
    assert _kept() == _computed() == {one.pk: _at(2), three.pk: _at(5)}
    three.delete()  # the customer's interactions go with it, and so does its row
    assert _kept() == _computed() == {one.pk: _at(2)}
    Interaction.objects.filter(customer=one).update(occurred_at=timezone.now() - timedelta(days=1))
    assert _kept() == _computed()
