"""Retention campaigns in the browser: a director builds a campaign on its page (the saved
filter, two steps, the second added with "Add a step"), previews the audience, saves,
starts it (the first message goes out), then stops it."""

import pytest
from django.core import mail
from selenium.webdriver.common.by import By

from crm_project.dates import business_today
from loyalty.models import Campaign, CampaignMessage
from segmentation.models import CustomerSnapshot, RecomputeRun
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, SalesTeamFactory, make_director, make_manager

from .test_deal_flow import submit_and_wait

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def click(driver, element):
    # Bootstrap scrolls smoothly: jump first, or the click lands mid-scroll on something else
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)
    element.click()


def test_build_preview_start_and_stop_a_campaign(page, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    team = SalesTeamFactory(name="Win-back team")
    manager = make_manager("mgr_winback", team)
    make_director("dir_winback", team)
    today = business_today()
    RecomputeRun.objects.create(as_of=today, status=RecomputeRun.Status.DONE)
    for name, status in [("Lost Larch", "lost"), ("Lost Linden", "lost"), ("Regular Rowan", "regular")]:
        customer = CustomerFactory(name=name, manager=manager, email=f"{name.split()[1].lower()}@example.com")
        CustomerSnapshot.objects.create(as_of=today, customer=customer, status=status, abc="A")
    driver = page.driver
    page.login("dir_winback", PASSWORD)

    page.open("/loyalty/campaigns/")
    submit_and_wait(driver, driver.find_element(By.LINK_TEXT, "New campaign"))
    # Saved empty: the errors are shown by the fields, nothing is saved
    driver.find_element(By.ID, "id_steps-0-subject").send_keys("We miss you")
    driver.find_element(By.ID, "id_steps-0-body").send_keys("Hello {% if %}")
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[name=save]"))
    errors = driver.find_element(By.ID, "campaign-form").text
    assert "This field is required." in errors and "not a valid template" in errors
    assert not Campaign.objects.exists()
    driver.save_screenshot("/tmp/issue-13-campaign-errors.png")
    driver.find_element(By.ID, "id_steps-0-subject").clear()
    driver.find_element(By.ID, "id_steps-0-body").clear()
    driver.find_element(By.ID, "id_name").send_keys("Come back")
    click(driver, driver.find_element(By.CSS_SELECTOR, "input[name=statuses][value=lost]"))
    driver.find_element(By.ID, "id_steps-0-subject").send_keys("We miss you")
    driver.find_element(By.ID, "id_steps-0-body").send_keys("Hello {{ customer }}, see {{ link }}")
    click(driver, driver.find_element(By.ID, "add-step"))
    driver.find_element(By.ID, "id_steps-1-delay_days").clear()
    driver.find_element(By.ID, "id_steps-1-delay_days").send_keys("14")
    driver.find_element(By.ID, "id_steps-1-subject").send_keys("A gift for you")
    driver.find_element(By.ID, "id_steps-1-body").send_keys("{{ link }}")

    submit_and_wait(driver, driver.find_element(By.ID, "preview-audience"))
    assert "The filter picks 2 customers today" in driver.find_element(By.ID, "audience-count").text
    assert driver.find_element(By.ID, "id_steps-1-subject").get_attribute("value") == "A gift for you"
    driver.save_screenshot("/tmp/issue-13-campaign-form.png")
    submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[name=save]"))

    campaign = Campaign.objects.get()
    assert list(campaign.steps.values_list("position", "delay_days", "subject")) == [
        (1, 0, "We miss you"),
        (2, 14, "A gift for you"),
    ]
    assert driver.find_element(By.ID, "campaign-status").text == "Draft"
    submit_and_wait(driver, driver.find_element(By.ID, "campaign-start"))
    assert driver.find_element(By.ID, "campaign-status").text == "Running"
    assert sorted(m.to[0] for m in mail.outbox) == ["larch@example.com", "linden@example.com"]
    results = driver.find_element(By.ID, "campaign-results").text
    assert "1. We miss you" in results
    driver.save_screenshot("/tmp/issue-13-campaign-running.png")

    submit_and_wait(driver, driver.find_element(By.ID, "campaign-stop"))
    assert driver.find_element(By.ID, "campaign-status").text == "Stopped"
    assert "not sent: stopped" in driver.find_element(By.ID, "campaign-results").text  # the second step
    driver.save_screenshot("/tmp/issue-13-campaign-stopped.png")
    assert not CampaignMessage.objects.filter(status=CampaignMessage.Status.PENDING).exists()
    page.open("/loyalty/campaigns/")
    assert "Come back" in driver.find_element(By.TAG_NAME, "table").text
    driver.save_screenshot("/tmp/issue-13-campaign-list.png")
    assert page.console_errors() == []
