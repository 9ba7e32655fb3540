"""A manager's day: open the agenda, open a customer from it, log a call with the next
contact through the card's quick entry, and find that contact on that day's agenda."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=60, seed=1, verbosity=0)


def test_a_manager_logs_a_call_from_the_agenda_and_finds_the_next_contact_on_its_day(demo, page):
    driver = page.driver
    day = timezone.localdate() + timedelta(days=3)
    purpose = "Send the revised offer"

    # given manager1 logged in, on the agenda (their home page), with contacts for today
    page.login("manager1", "demo12345")
    driver.find_element(By.LINK_TEXT, "Agenda").click()
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#agenda-day li.agenda-row")))
    assert driver.title.startswith("Agenda")

    # when they open the first customer of the day
    link = driver.find_element(By.CSS_SELECTOR, "#agenda-day li.agenda-row a.fw-semibold")
    customer = link.text
    link.click()
    wait_for(driver, EC.presence_of_element_located((By.XPATH, f"//h1[contains(., '{customer}')]")))

    # and log a call with a next contact through the quick entry, which htmx loads into the card
    kind = wait_for(driver, EC.element_to_be_clickable((By.ID, "id_card_kind")))
    assert kind.get_attribute("accesskey") == "l"
    driver.find_element(By.ID, "id_card_summary").send_keys("Agreed to look at the revised offer")
    # a date input's typed format depends on the browser's locale, so its value is set directly
    driver.execute_script(
        "arguments[0].value = arguments[1]", driver.find_element(By.ID, "id_card_next_date"), day.isoformat()
    )
    driver.find_element(By.ID, "id_card_next_purpose").send_keys(purpose, Keys.ENTER)  # Enter submits

    # then, without a reload, the call tops the timeline and the contact is planned
    wait_for(
        driver,
        EC.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "#timeline li:first-child"), "Agreed to look at the revised offer"
        ),
    )
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "planned-contacts"), purpose))
    assert "Logged. Next contact on" in driver.find_element(By.ID, "interaction-form-card").text
    assert driver.find_element(By.ID, "id_card_summary").get_attribute("value") == ""

    # and that day's agenda, opened from the planned contact, lists the customer with the purpose
    driver.find_element(By.CSS_SELECTOR, f"#planned-contacts a[href$='?day={day.isoformat()}']").click()
    wait_for(driver, EC.url_contains(f"day={day.isoformat()}"))
    rows = driver.find_elements(By.CSS_SELECTOR, "#agenda-day li.agenda-row")
    assert any(customer in row.text and purpose in row.text for row in rows)
    assert page.console_errors() == []
