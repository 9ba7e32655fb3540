"""SEC-03 (ASVS 3.5.3): a GET changes nothing. Every URL of the resolver (ids from mgr_a's
records, the public pages with real tokens, and every export link the pages offer) is
opened with GET by the administrator, a director and the manager, and a checksum of
every table (row count and a hash of every row) is the same before and after.

Left out of the checksum: sessions and their LoginSession map, axes' login records,
auth_user.last_login (a visit, not data).

Reporting stores a period's figures the first time anyone opens it (reporting.views
._stored: a read-through cache of derived rows, with the snapshots they need, which the
nightly job fills ahead): the reporting pages are opened once before the walk, as the
nightly job would have, and then no GET, reporting's included, may change any table.
One GET writes by design: loyalty:campaign_track, the link in a campaign e-mail, records
that the customer responded (e-mail clients follow links with GET); it is checked
separately to write that and nothing else."""

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import transaction
from django.urls import reverse

from complaints import services as complaint_services
from crm_project.dates import business_today
from loyalty import campaigns
from loyalty.models import CampaignMessage
from tests.factories import CustomerFactory, SettlementLineFactory, make_director
from tests.reliability.hostile import every_page
from tests.reliability.test_export_scope import export_links

SKIP_TABLES = {"django_session", "customers_loginsession"}
SKIP_APPS = {"axes", "sessions"}
SKIP_COLUMNS = {"auth_user": {"last_login"}}


def _tables():
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy or meta.app_label in SKIP_APPS or meta.db_table in SKIP_TABLES:
            continue
        yield model


def checksum() -> dict[str, tuple[int, str]]:
    """{table: (rows, sha256 of every row's values in primary-key order)}."""
    state = {}
    for model in _tables():
        skip = SKIP_COLUMNS.get(model._meta.db_table, set())
        names = [field.attname for field in model._meta.concrete_fields if field.attname not in skip]
        digest = hashlib.sha256()
        rows = 0
        for row in model._default_manager.order_by("pk").values_list(*names):
            digest.update(repr(row).encode())
            rows += 1
        state[model._meta.db_table] = (rows, digest.hexdigest())
    return state


def changed(before, after):
    return sorted(table for table in after if before.get(table) != after[table])


@pytest.fixture
def public_urls(objects_of_mgr_a):
    """The login-free pages with valid tokens: a survey link, an unsubscribe link."""
    customer = objects_of_mgr_a["customer"]
    asked = CustomerFactory(manager=customer.manager, email="asked@example.com")  # one survey per quarter each
    _, token = complaint_services.survey_create(
        customer=asked,
        product=objects_of_mgr_a["survey"].product,
        actor=customer.manager,
        channel="email",
        reason="manual",
    )
    assert token
    return [
        reverse("survey:public", args=[token]),
        reverse("loyalty:unsubscribe", args=[campaigns.unsubscribe_token(customer.pk)]),
        reverse("health"),
        reverse("login"),
    ]


@pytest.fixture
def readers(mgr_a, dir_1, admin_user):
    return {"admin": admin_user, "director": dir_1, "manager": mgr_a}


@pytest.mark.parametrize("role", ["admin", "director", "manager"])
def test_no_get_changes_any_table(role, readers, objects_of_mgr_a, public_urls, client):
    last_month = business_today().replace(day=1) - timedelta(days=1)
    SettlementLineFactory(customer=objects_of_mgr_a["customer"], manager=objects_of_mgr_a["customer"].manager,
                          date=last_month, amount=500)  # fmt: skip
    make_director("dir_2")  # a second director with no team: empty pages are pages too
    client.force_login(readers[role])
    pages = every_page(objects_of_mgr_a)
    for name, url in pages:  # the nightly job's fill of the stored periods
        if name.startswith("reporting:"):
            client.get(url)
    before = checksum()
    urls = [url for _, url in pages] + public_urls
    with transaction.atomic():
        urls += sorted(export_links(client, objects_of_mgr_a))  # opens every page once too
        for url in urls:
            assert client.get(url).status_code < 500, url
        dirty = changed(before, checksum())
        transaction.set_rollback(True)  # back to `before`, to find the culprit if dirty
    if dirty:
        for url in urls:  # the pages first, then the export links
            with transaction.atomic():
                client.get(url)
                assert changed(before, checksum()) == [], (url, changed(before, checksum()))
                transaction.set_rollback(True)
        raise AssertionError(dirty)
    opened = len(urls)
    assert opened >= 80


def test_the_campaign_link_records_the_response_and_nothing_else(objects_of_mgr_a, client):
    from loyalty.models import Campaign, CampaignMember, CampaignStep

    campaign = Campaign.objects.create(name="Win back", statuses=["lost"], status=Campaign.Status.RUNNING)
    step = CampaignStep.objects.create(campaign=campaign, position=1, delay_days=0, subject="Hi", body="Hi")
    member = CampaignMember.objects.create(
        campaign=campaign, customer=objects_of_mgr_a["customer"], joined_on=business_today()
    )
    message = CampaignMessage.objects.create(step=step, member=member, status=CampaignMessage.Status.SENT)
    before = checksum()
    response = client.get(reverse("loyalty:campaign_track", args=[campaigns.track_token(message.pk)]))
    assert response.status_code == 200
    assert set(changed(before, checksum())) <= {"loyalty_campaignmessage", "loyalty_campaignmember"}
    message.refresh_from_db()
    assert message.responded_at is not None


def test_the_checksum_sees_a_change_in_any_column(cust_a):
    before = checksum()
    type(cust_a).objects.filter(pk=cust_a.pk).update(city="Elsewhere")
    assert changed(before, checksum()) == ["customers_customer"]
