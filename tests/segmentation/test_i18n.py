"""Segmentation's pages in another language: template words, model and choices labels and
the labels set in Python all go through translation (a fake French catalog of a few words,
as tests/customers/test_navigation.py)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from segmentation import services
from segmentation.classification import months_before
from tests import fake_catalog
from tests.factories import CustomerFactory, SettlementLineFactory

pytestmark = pytest.mark.django_db

D = date(2026, 5, 31)
WORDS = {
    "Lifecycle status": "Statut du cycle de vie",  # template
    "Recompute runs": "Recalculs",  # template (the tabs)
    "Regular": "Régulier",  # the status's choices label
    "recompute status\x04Done": "Terminé",  # the run's choices label, with its context
    "Was": "Avant",  # the class changes table's column (Python)
    "ABC value": "Valeur ABC",
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


@pytest.fixture
def classified(cust_a, mgr_a):
    for k in range(12):
        SettlementLineFactory(customer=cust_a, date=months_before(D, k), amount=Decimal("1000"))
    CustomerFactory(name="Prospect", manager=mgr_a)
    services.segments_recompute(as_of=D)


def test_the_overview_and_class_changes_read_in_french(classified, admin_user, client_for, french):
    client = client_for(admin_user)
    overview = client.get(reverse("segmentation:overview")).content.decode()
    assert "Statut du cycle de vie" in overview and ">Lifecycle status<" not in overview
    assert ">Recalculs</a>" in overview
    assert "?lifecycle_status=regular\">Régulier</a>" in overview  # the label, not the code
    assert "— Terminé" in overview  # the last run's status
    changes = client.get(reverse("segmentation:class_changes")).content.decode()
    assert "Avant" in changes and "Valeur ABC" in changes and ">Was<" not in changes


def test_the_statuses_read_as_labels_in_english(classified, admin_user, client_for):
    html = client_for(admin_user).get(reverse("segmentation:lifecycle")).content.decode()
    assert '<th class="text-end">Regular</th>' in html and 'title="Regular: ' in html
