"""Reporting's pages in another language: template words, choices labels and the labels set
in Python all go through translation (a fake French catalog of a few words, as
tests/customers/test_navigation.py)."""

import pytest
from django.urls import reverse
from django.utils.http import urlencode

from reporting import services
from tests import fake_catalog
from tests.reporting.scenario import END, START, build

pytestmark = pytest.mark.django_db

Q2 = urlencode({"start": START.isoformat(), "end": END.isoformat()})
WORDS = {
    "KPIs by customer": "ICP par client",  # template
    "Regular": "Régulier",  # the lifecycle status's choices label
    "Status at start": "Statut au début",  # the table's column (Python)
    "Status at end": "Statut à la fin",  # the filter's label (Python)
    "Lifecycle over eight periods": "Cycle de vie sur huit périodes",  # template
}


@pytest.fixture
def french():
    with fake_catalog.french(WORDS):
        yield


@pytest.fixture
def ledger(mgr_a, mgr_b, mgr_c, dir_1):
    customers = build(mgr_a, mgr_b, mgr_c)
    services.kpi_period_fill(start=START, end=END)
    return customers


def test_the_kpis_by_customer_and_the_dashboard_read_in_french(ledger, dir_1, client_for, french):
    client = client_for(dir_1)
    html = client.get(reverse("reporting:kpi_customers") + "?" + Q2).content.decode()
    assert "ICP par client" in html and "KPIs by customer" not in html
    assert "Statut au début" in html and "Statut à la fin" in html
    assert '<option value="regular">Régulier</option>' in html
    dashboard = client.get(reverse("reporting:dashboard") + "?" + Q2).content.decode()
    assert "Cycle de vie sur huit périodes" in dashboard
    assert '<th class="text-end">Régulier</th>' in dashboard and ">Regular<" not in dashboard
