"""The director opens the dashboard for last quarter, clicks a manager's "lost" number and
lands on exactly those customers (issue 12)."""

import os
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from crm_project.dates import business_today
from reporting.periods import preset
from segmentation.models import CustomerSnapshot
from tests.browser.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def lost_in(manager, start, end) -> set[str]:
    """Straight from the snapshots, not from reporting's rows: the manager's customers
    lost as of E that were not lost as of S - 1."""
    at_end = CustomerSnapshot.objects.filter(as_of=end, status="lost", customer__manager=manager)
    lost_before = CustomerSnapshot.objects.filter(as_of=start - timedelta(days=1), status="lost")
    return set(at_end.exclude(customer__in=lost_before.values("customer")).values_list("customer__name", flat=True))


def snap(driver, name: str) -> None:
    """With CRM_SCREENSHOTS=<dir>, keep a screenshot of the page as <dir>/<name>.png."""
    if folder := os.environ.get("CRM_SCREENSHOTS"):
        driver.set_window_size(1280, 2400)
        driver.save_screenshot(os.path.join(folder, f"{name}.png"))
        driver.set_window_size(1280, 900)


def test_the_director_drills_from_the_dashboard_into_a_managers_lost_customers(settings, page):
    settings.DEBUG = True
    call_command("seed_demo", customers=60, seed=1, verbosity=0)
    page.login("director", "demo12345")
    driver = page.driver
    wait_for(driver, EC.presence_of_element_located((By.ID, "period-form")))
    assert "/reports/" in driver.current_url  # the director's home is the dashboard
    Select(driver.find_element(By.ID, "id_preset")).select_by_value("last_quarter")  # submits the form
    wait_for(driver, lambda d: "preset=last_quarter" in d.current_url)
    start, end = preset("last_quarter", business_today())
    heading = driver.find_element(By.TAG_NAME, "h1").text
    assert f"{start:%-d %b %Y}" in heading and f"{end:%-d %b %Y}" in heading
    # The blocks read from the rows the fill stored: the funnel and the loyalty widget are there.
    assert driver.find_elements(By.CSS_SELECTOR, "#funnel-table tbody tr")
    assert driver.find_elements(By.CSS_SELECTOR, ".loyalty-widget")
    snap(driver, "dashboard")
    links = driver.find_elements(By.CSS_SELECTOR, "#kpi-managers tr.kpi-row-manager td.kpi-lost a")
    assert links, "no manager lost anybody last quarter in the demo data"
    row = links[0].find_element(By.XPATH, "./ancestor::tr")
    label, shown = row.get_attribute("data-row"), int(links[0].text)
    manager = next(u for u in get_user_model().objects.all() if (u.get_full_name() or u.username) == label)
    # The wide table scrolls sideways, which Selenium's click does not do: follow the
    # link from the keyboard (focus it, press Enter) as a keyboard user would.
    links[0].send_keys(Keys.ENTER)
    wait_for(driver, EC.presence_of_element_located((By.ID, "kpi-drill")))
    names = {cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#kpi-drill tbody td:first-child a")}
    expected = lost_in(manager, start, end)
    assert names == expected
    assert len(names) == shown
    snap(driver, "drill-down")
    assert not page.console_errors()
    page.open(f"/reports/kpis/customers/?start={start}&end={end}")
    wait_for(driver, EC.presence_of_element_located((By.ID, "kpi-customers")))
    assert driver.find_elements(By.CSS_SELECTOR, "#kpi-customers tbody tr")
    snap(driver, "by-customer")
    assert not page.console_errors()
