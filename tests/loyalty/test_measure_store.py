"""The loyalty measures stored per manager (loyalty.measure_store, issue 15) give exactly
what the live computation gives, for every kind of user, and stop being read the moment a
write changes what they count: an import, a payment's lines, a reassignment, a referrer
changed, other classification settings."""

import importlib
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer, PlannedContact
from customers.services.profiles import customers_reassign
from loyalty import measure_store
from loyalty.models import MeasureCount, MeasureFill
from loyalty.selectors import measures_by_period, measures_on, period_ends
from sales_pipeline.models import SettlementDay
from segmentation.models import ClassificationSettings
from tests.factories import CustomerFactory, ProductFactory
from tests.loyalty.test_measures_one_pass import _ledger, reference_measures
from tests.sales_pipeline.test_settlement_import import run_import, write_csv

TODAY = date(2026, 5, 31)
DAY_TABLE = SettlementDay._meta.db_table


@pytest.fixture
def ledger(mgr_a, mgr_c, db):
    ClassificationSettings.objects.update_or_create(pk=1, defaults={"period_months": 3, "window_months": 12})
    _ledger([mgr_a, mgr_c], seed=24)
    pool = CustomerFactory(manager=None, name="Pool buyer", external_ref="POOL1")
    from tests.factories import SettlementLineFactory

    SettlementLineFactory(customer=pool, date=date(2026, 4, 2), amount="125.5")
    SettlementLineFactory(customer=pool, date=date(2025, 10, 2), amount="80")
    return period_ends(TODAY, ClassificationSettings.current())


def _reference(user, dates):
    return [reference_measures(user=user, as_of=as_of) for as_of in dates]


def _day_table_reads(user, dates):
    with CaptureQueriesContext(connection) as queries:
        got = measures_on(user=user, dates=dates)
    return got, sum(DAY_TABLE in q["sql"] for q in queries.captured_queries)


def _stale():
    return sorted(MeasureFill.objects.filter(stale_since__isnull=False).values_list("as_of", flat=True))


def test_the_stored_figures_equal_the_live_ones_for_every_user(ledger, mgr_a, mgr_b, mgr_c, dir_1, admin_user):
    # given mgr_c's customer handed over to mgr_b while mgr_c is away
    handed = Customer.objects.filter(manager=mgr_c).order_by("pk").first()
    PlannedContact.objects.create(
        customer=handed, manager=mgr_b, handed_over_from=mgr_c, purpose="Cover", due_date=TODAY
    )
    live = {user.pk: measures_on(user=user, dates=ledger) for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user)}
    # when the page's dates are stored
    assert measure_store.measures_fill(today=TODAY) == 4
    assert MeasureCount.objects.filter(manager_id=0).exists()  # the pool has a row of its own
    # then every user gets the same figures, read from the rows, the reference's too
    for user in (mgr_a, mgr_b, mgr_c, dir_1, admin_user):
        got, reads = _day_table_reads(user, ledger)
        assert got == live[user.pk] == _reference(user, ledger), user
        # only the manager covering a colleague reads day rows: the handed-over customer's
        assert reads == (1 if user == mgr_b else 0), user
    assert measures_on(user=mgr_b, dates=ledger) != measures_on(user=mgr_a, dates=ledger)  # the data tells them apart
    assert any(m.referral_revenue and m.existing_revenue and m.loyal_buyers for m in live[admin_user.pk])
    # and a second fill has nothing to do
    assert measure_store.measures_fill(today=TODAY) == 0


def test_a_fill_keeps_only_the_pages_dates(ledger):
    measure_store.measures_fill(today=date(2026, 4, 30))
    measure_store.measures_fill(today=TODAY)
    assert sorted(MeasureFill.objects.values_list("as_of", flat=True)) == ledger


def test_an_import_marks_the_dates_it_reaches_stale_and_they_are_read_live(ledger, dir_1, admin_user, tmp_path):
    measure_store.measures_fill(today=TODAY)
    CustomerFactory(manager=dir_1, external_ref="IMP1", name="Imported")
    ProductFactory(sku="P1")
    # when lines dated 2026-01-15 are imported (the task that refills is not run)
    path = write_csv(tmp_path / "lines.csv", [["IMP1", "2026-01-15", "P1", "300.00", "1", "INV1"],
                                              ["POOL1", "2026-03-01", "P1", "-20.00", "1", "INV2"]])  # fmt: skip
    run = run_import(path, user=admin_user)
    assert (run.status, run.errors) == ("done", [])
    # then the dates from then on are stale, the earlier ones still stored, and all exact
    assert _stale() == [date(2026, 2, 28), TODAY]
    for user in (dir_1, admin_user):
        assert measures_on(user=user, dates=ledger) == _reference(user, ledger)
    # and the refill stores them with the imported lines
    assert measure_store.measures_fill(today=TODAY) == 2
    assert _stale() == []
    for user in (dir_1, admin_user):
        got, reads = _day_table_reads(user, ledger)
        assert got == _reference(user, ledger) and reads == 0


def test_a_payments_lines_refill_the_dates_once_committed(
    ledger, mgr_a, django_capture_on_commit_callbacks, monkeypatch
):
    from sales_pipeline.models import SettlementLine
    from sales_pipeline.services.ledger import lines_create

    monkeypatch.setattr("loyalty.tasks.business_today", lambda: TODAY)  # the task fills "today"
    measure_store.measures_fill(today=TODAY)
    customer = Customer.objects.filter(manager=mgr_a).order_by("pk").first()
    line = SettlementLine(customer=customer, date=TODAY, amount=Decimal("999.99"), source_key="payment:test:1")
    with django_capture_on_commit_callbacks(execute=True):
        lines_create([line], user=mgr_a, reason="test")
    # the task ran on commit (eager in tests): fresh again, and counting the new line
    assert _stale() == [] and MeasureFill.objects.count() == 4
    got, reads = _day_table_reads(mgr_a, ledger)
    assert got == _reference(mgr_a, ledger) and reads == 0


def test_a_reassignment_marks_every_date_stale_then_refills(
    ledger, mgr_a, mgr_c, dir_1, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("loyalty.tasks.business_today", lambda: TODAY)  # the task fills "today"
    measure_store.measures_fill(today=TODAY)
    moved = list(Customer.objects.filter(manager=mgr_a).order_by("pk")[:3])
    before = measures_on(user=dir_1, dates=ledger)
    # when three of mgr_a's customers go to mgr_c (the refill not run yet)
    customers_reassign(customers=moved, manager=mgr_c, actor=admin_user)
    # then every date is stale and each user's figures follow the customers at once
    assert _stale() == ledger
    for user in (mgr_a, mgr_c, dir_1, admin_user):
        assert measures_on(user=user, dates=ledger) == _reference(user, ledger), user
    assert measures_on(user=dir_1, dates=ledger) != before
    # and once a reassignment commits, the dates are filled again
    with django_capture_on_commit_callbacks(execute=True):
        customers_reassign(customers=moved[:1], manager=mgr_a, actor=admin_user)
    assert _stale() == [] and MeasureFill.objects.count() == 4
    for user in (mgr_a, mgr_c, dir_1, admin_user):
        got, reads = _day_table_reads(user, ledger)
        assert got == _reference(user, ledger) and reads == 0, user


def test_a_referrer_set_or_cleared_by_any_write_marks_the_dates_stale(ledger, admin_user):
    measure_store.measures_fill(today=TODAY)
    # an edit that changes neither the manager nor the referrer keeps them
    customer = Customer.objects.filter(referred_by__isnull=True, settlement_days__isnull=False).first()
    customer.name = "Renamed"
    customer.save()
    Customer.objects.update(notes="bulk edit")
    assert _stale() == []
    # a referrer set on one customer
    customer.referred_by = Customer.objects.exclude(pk=customer.pk).first()
    customer.save()
    assert _stale() == ledger
    assert measures_on(user=admin_user, dates=ledger) == _reference(admin_user, ledger)
    # a referrer deleted: its referrals' referred_by set to NULL by the database's cascade
    measure_store.measures_fill(today=TODAY)
    referrer = CustomerFactory(name="Referrer without lines")
    Customer.objects.filter(pk=customer.pk).update(referred_by=referrer)
    measure_store.measures_fill(today=TODAY)
    referrer.delete()
    assert _stale() == ledger
    assert measures_on(user=admin_user, dates=ledger) == _reference(admin_user, ledger)


def test_figures_stored_with_other_settings_are_not_read(ledger, admin_user):
    measure_store.measures_fill(today=TODAY)
    ClassificationSettings.objects.filter(pk=1).update(window_months=6)
    _got, reads = _day_table_reads(admin_user, ledger)
    assert _got == _reference(admin_user, ledger) and reads == 1  # every date live again
    assert measure_store.measures_fill(today=TODAY) == 4


def test_the_measures_page_is_the_same_from_the_stored_rows(ledger, mgr_a, dir_1, client_for, monkeypatch):
    monkeypatch.setattr("loyalty.views.business_today", lambda: TODAY)

    def page(user) -> str:  # without the CSRF token, new per request
        html = client_for(user).get(reverse("loyalty:measures")).content.decode()
        return re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", html)

    live = {user.pk: page(user) for user in (mgr_a, dir_1)}
    measure_store.measures_fill(today=TODAY)
    for user in (mgr_a, dir_1):
        assert page(user) == live[user.pk]
    assert [m.as_of for m in measures_by_period(user=dir_1, as_of=TODAY)] == ledger


def test_the_customers_trigger_takes_the_fills_lock():
    migration = importlib.import_module("loyalty.migrations.0006_measure_store")
    assert migration.LOCK_KEY == measure_store.LOCK_KEY


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_reassignment_during_a_fill_marks_what_the_fill_wrote(mgr_a, mgr_c, monkeypatch):
    """The fill reads, then writes its rows; a reassignment committed in between would leave
    rows counted for the old manager marked fresh, had the trigger not waited for the fill."""
    import threading
    import time

    from django.db import connections

    from loyalty import selectors
    from tests.conftest import require

    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the advisory lock is tested on PostgreSQL")
    ClassificationSettings.objects.update_or_create(pk=1, defaults={"period_months": 3, "window_months": 12})
    _ledger([mgr_a, mgr_c], seed=7)
    moved = Customer.objects.filter(manager=mgr_a, settlement_days__isnull=False).order_by("pk").first()
    computed = threading.Event()
    real = selectors.figure_sums

    def slow_figure_sums(**kwargs):
        sums = real(**kwargs)
        computed.set()
        time.sleep(1)  # the reassignment comes now, before the rows are written
        return sums

    monkeypatch.setattr(selectors, "figure_sums", slow_figure_sums)

    def fill():
        try:
            measure_store.measures_fill(today=TODAY)
        finally:
            connections.close_all()

    def reassign():
        try:
            computed.wait(10)
            Customer.objects.filter(pk=moved.pk).update(manager=mgr_c)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fill), threading.Thread(target=reassign)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert MeasureFill.objects.count() == 4
    assert _stale() == sorted(MeasureFill.objects.values_list("as_of", flat=True))
    dates = period_ends(TODAY, ClassificationSettings.current())
    assert measures_on(user=mgr_c, dates=dates) == _reference(mgr_c, dates)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_fill_gives_up_while_a_ledger_write_is_open(mgr_a):
    """The fill never queues for the lock: behind it, every payment's marker would wait
    for an import under way to commit."""
    import threading

    from django.db import connections, transaction

    from crm_project.locks import LockHeld
    from tests.conftest import require

    if connection.vendor != "postgresql":
        require("CRM_REQUIRE_SERVICES", "the advisory lock is tested on PostgreSQL")
    outcome = []

    def fill():
        try:
            measure_store.measures_fill(today=TODAY)
            outcome.append("filled")
        except LockHeld:
            outcome.append("gave up")
        finally:
            connections.close_all()

    with transaction.atomic():
        measure_store.measures_mark_stale(since=TODAY)  # a ledger write, not yet committed
        thread = threading.Thread(target=fill)
        thread.start()
        thread.join(10)
    assert outcome == ["gave up"] and not MeasureFill.objects.exists()
    assert measure_store.measures_fill(today=TODAY) == 4  # once committed


def test_the_stored_dates_are_read_only_in_admin(ledger, admin_user, client_for):
    measure_store.measures_fill(today=TODAY)
    fill = MeasureFill.objects.get(as_of=TODAY)
    client = client_for(admin_user)
    assert client.get(reverse("admin:loyalty_measurefill_changelist")).status_code == 200
    assert client.get(reverse("admin:loyalty_measurefill_add")).status_code == 403
    assert client.get(reverse("admin:loyalty_measurefill_change", args=[fill.pk])).status_code == 200
    # deleting one is harmless: that date is read live until the next fill
    client.post(reverse("admin:loyalty_measurefill_delete", args=[fill.pk]), {"post": "yes"})
    assert not MeasureFill.objects.filter(pk=fill.pk).exists() and not MeasureCount.objects.filter(fill=fill.pk)
    assert measures_on(user=admin_user, dates=ledger) == _reference(admin_user, ledger)
