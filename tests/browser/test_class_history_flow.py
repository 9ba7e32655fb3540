"""A manager reads the classes of a date whose full snapshot the nightly retention pruned
(issue 15, item 5): the overview and the lifecycle page show exactly what that date's
snapshot said."""

import os
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from crm_project.dates import business_today
from segmentation import services
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.browser.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_pruned_date_reads_like_its_snapshot_on_the_classes_pages(settings, page, tmp_path):
    settings.DEBUG = True
    shots = Path(os.environ.get("CRM_SCREENSHOTS", tmp_path))
    call_command("seed_demo", customers=60, seed=1, verbosity=0)
    dates = sorted(RecomputeRun.objects.filter(customers__gt=0).values_list("as_of", flat=True))
    before = {d: Counter(CustomerSnapshot.objects.filter(as_of=d).values_list("status", flat=True)) for d in dates}
    assert services.snapshots_prune(today=business_today()) > 0
    held = set(CustomerSnapshot.objects.values_list("as_of", flat=True))
    oldest = next(d for d in dates if d not in held)  # the demo's period ends are not month ends
    statuses = before[oldest]

    page.login("director", "demo12345")
    driver = page.open(f"/segments/?as_of={oldest:%Y-%m-%d}")
    wait_for(driver, EC.presence_of_element_located((By.ID, "abc-xyz")))
    assert driver.find_element(By.ID, "classes-only").is_displayed()
    shown = {}
    for item in driver.find_elements(By.CSS_SELECTOR, ".list-group-item"):
        label, n = item.text.rsplit("\n", 1) if "\n" in item.text else item.text.rsplit(" ", 1)
        shown[label.strip().lower()] = int(n.replace(",", ""))
    assert {k: v for k, v in shown.items() if v} == dict(statuses)
    driver.save_screenshot(str(shots / "pruned-overview.png"))

    driver = page.open("/segments/lifecycle/")
    wait_for(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    assert "missing period" not in driver.page_source  # every period end reads, pruned or not
    driver.save_screenshot(str(shots / "pruned-lifecycle.png"))
    assert not page.console_errors()
