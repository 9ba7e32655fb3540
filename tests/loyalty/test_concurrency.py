"""Two redemptions at the same moment on PostgreSQL: the card's row lock lets one pass."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from loyalty import services
from loyalty.models import Card
from tests.conftest import require
from tests.factories import CustomerFactory

from .helpers import points_program


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_redemptions_cannot_both_pass():
    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the row lock is tested on PostgreSQL")
    card = services.card_issue(program=points_program(point_value=Decimal("1")), holder=CustomerFactory())
    services.points_adjust(card=card, points=100, reason="Opening balance")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def redeem():
        try:
            barrier.wait(5)
            services.points_redeem(card=card, points=70, reason="till")
            outcomes.append("redeemed")
        except services.Refused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    card = Card.objects.get(pk=card.pk)
    assert sorted(outcomes) == ["redeemed", "refused"]
    assert card.balance == 30
    assert services.balance_drift() == []


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_redemptions_never_take_the_balance_below_zero():
    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the row lock is tested on PostgreSQL")
    card = services.card_issue(program=points_program(), holder=CustomerFactory())
    services.points_adjust(card=card, points=100, reason="Opening balance")
    barrier = threading.Barrier(6)
    passed = []

    def redeem():
        try:
            barrier.wait(5)
            services.points_redeem(card=card, points=30)
            passed.append(1)
        except services.Refused:
            pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(passed) == 3
    assert Card.objects.get(pk=card.pk).balance == 10
    assert services.balance_drift() == []
