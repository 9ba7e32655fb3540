from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.access import DIRECTOR, MANAGER, user_role
from customers.models import Customer


def test_seed_demo_creates_the_demo_logins_and_customers(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=40, seed=7)
    printed = capsys.readouterr().out
    for username in ["admin", "director", "manager1", "manager2", "manager3"]:
        assert username in printed
        assert get_user_model().objects.get(username=username).check_password("demo12345")
    assert "demo12345" in printed
    assert Customer.objects.count() == 40
    director = get_user_model().objects.get(username="director")
    manager3 = get_user_model().objects.get(username="manager3")
    assert user_role(director) == DIRECTOR and user_role(manager3) == MANAGER
    assert Customer.objects.visible_to(manager3).count() < Customer.objects.visible_to(director).count() == 40


def test_seed_demo_is_deterministic(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=25, seed=3)
    first = list(Customer.objects.order_by("external_ref").values_list("name", "city", "manager__username"))
    call_command("seed_demo", customers=25, seed=3, reset=True)
    again = list(Customer.objects.order_by("external_ref").values_list("name", "city", "manager__username"))
    assert first == again


def test_seed_demo_leaves_existing_data_alone_without_reset(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=10)
    call_command("seed_demo", customers=50)
    assert Customer.objects.count() == 10



def test_demo_ledger_holds_no_line_after_today(db):
    import random
    from datetime import date

    from sales_pipeline.demo import seed_ledger
    from sales_pipeline.models import SettlementLine

    customers = Customer.objects.bulk_create(Customer(name=f"Demo {n}", external_ref=f"D{n}") for n in range(300))
    today = date(2026, 12, 2)
    assert seed_ledger(customers=customers, rng=random.Random(7), today=today) > 0
    assert not SettlementLine.objects.filter(date__gt=today).exists()
