"""A customer answers a survey through the public link with a 3; their manager finds the
hidden-dissatisfaction complaint on the agenda and works it through every step to closed."""

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from complaints import services
from complaints.models import CauseCategory, Complaint, Question, Questionnaire
from customers.models import Contact, ProductLine
from tests.browser.waiting import wait_for
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, ProductFactory, SalesTeamFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def survey_link():
    manager = make_manager("mgr_survey", SalesTeamFactory(name="North"))
    customer = CustomerFactory(name="Quiet Unhappy Ltd", manager=manager)
    Contact.objects.create(customer=customer, name="Quinn", email="quinn@example.com", is_primary=True)
    line = ProductLine.objects.create(name="Consumables")
    product = ProductFactory(sku="CO-010", name="Shrink film roll", line=line)
    questionnaire = Questionnaire.objects.create(name="Consumables", product_line=line)
    for order, text in ((10, "Product quality"), (20, "Delivery speed"), (30, "Packaging")):
        Question.objects.create(questionnaire=questionnaire, text=text, order=order)
    CauseCategory.objects.create(name="Late delivery")
    _survey, token = services.survey_create(customer=customer, product=product)
    return f"/s/{token}/"


def click(driver, element):
    # scrolled to the middle first (instantly: Bootstrap's smooth scrolling would still be
    # moving at the click): on a phone-sized window the control may be below the fold
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def fill(driver, field_id, text):
    element = driver.find_element(By.ID, field_id)
    element.clear()
    element.send_keys(text)


def advance(driver, step_label):
    click(driver, driver.find_element(By.ID, "advance-submit"))
    wait_for(driver, EC.text_to_be_present_in_element((By.ID, "complaint-step"), step_label))


def test_a_3_in_the_public_survey_becomes_a_complaint_worked_to_closed(survey_link, page):
    driver = page.driver

    # given the customer's link, opened without logging in, on a phone-sized window
    driver.set_window_size(400, 850)
    page.open(survey_link)
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "fieldset.survey-question")))
    assert "Shrink film roll" in driver.page_source and "Quiet Unhappy" not in driver.page_source

    # when they score 5, 3 and 4 and send
    for fieldset, score in zip(driver.find_elements(By.CSS_SELECTOR, "fieldset.survey-question"), "534",
                               strict=True):
        click(driver, fieldset.find_element(By.XPATH, f".//label[normalize-space()='{score}']"))
    click(driver, driver.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    wait_for(driver, EC.presence_of_element_located((By.ID, "survey-thanks")))
    driver.set_window_size(1280, 900)

    # then the manager finds a hidden-dissatisfaction complaint on their agenda
    page.login("mgr_survey", PASSWORD)
    page.open("/customers/agenda/")
    row = wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "tr.agenda-hook-row.complaint-hidden")))
    assert "Hidden dissatisfaction" in row.text and "Quiet Unhappy Ltd" in row.text
    click(driver, row.find_element(By.CSS_SELECTOR, "a[href^='/complaints/']"))
    wait_for(driver, EC.presence_of_element_located((By.ID, "complaint-step")))
    assert "Delivery speed: 3" in driver.page_source

    # and works it through every step, each with its text, to closed
    advance(driver, "Investigating")
    click(driver, driver.find_element(By.ID, "advance-submit"))  # nothing written: refused
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "#advance .invalid-feedback")))
    fill(driver, "id_cause", "The carrier missed the delivery slot")
    Select(driver.find_element(By.ID, "id_cause_category")).select_by_visible_text("Late delivery")
    fill(driver, "id_action", "Delivered the next morning and apologised")
    advance(driver, "Cause eliminated")
    fill(driver, "id_process_change", "Slots confirmed with the carrier the day before")
    driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, "id_efficacy_check_date"),
                          timezone.localdate().isoformat())
    advance(driver, "Process fixed")
    fill(driver, "id_efficacy_result", "No missed slot since")
    click(driver, driver.find_element(By.ID, "id_efficacy_ok"))
    advance(driver, "Closed")

    timeline = driver.find_element(By.CSS_SELECTOR, ".complaint-timeline").text
    for step in ("Registered", "Investigating", "Cause eliminated", "Process fixed", "Closed"):
        assert step in timeline
    complaint = Complaint.objects.get()
    assert (complaint.kind, complaint.step, complaint.transitions.count()) == ("hidden", "closed", 5)
    assert page.console_errors() == []
