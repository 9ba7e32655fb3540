"""Each demo role logs in through the real login form and opens the main pages."""

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC

from tests.browser.waiting import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=60, seed=1, verbosity=0)


@pytest.mark.parametrize("username", ["manager1", "director", "admin"])
def test_each_role_logs_in_and_opens_the_main_pages(username, demo, page):
    page.login(username, "demo12345")
    driver = page.driver
    wait_for(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    # home is the agenda; a director's is the dashboard (reporting)
    assert ("/reports/" if username == "director" else "/customers/agenda/") in driver.current_url
    page.open("/customers/")
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "table.table")))
    assert "Customers" in driver.title
    # Bootstrap's stylesheet really applied: the navbar is dark, not the browser default
    navbar = driver.find_element(By.CSS_SELECTOR, "nav.navbar")
    assert navbar.value_of_css_property("display") == "flex"
    # open the first customer's card
    driver.find_element(By.CSS_SELECTOR, "table tbody tr td a").click()
    wait_for(driver, EC.presence_of_element_located((By.XPATH, "//div[@class='card-header' and text()='Profile']")))
    nav = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "#nav .nav-link")]
    assert "Customers" in nav
    assert ("Admin" in nav) == (username == "admin")
    assert page.console_errors() == []


def test_the_search_box_finds_a_customer_as_you_type(demo, page):
    from customers.models import Customer

    page.login("manager1", "demo12345")
    page.open("/customers/")
    driver = page.driver
    wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "table.table")))
    target = Customer.objects.filter(manager__username="manager1").order_by("pk").first()
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("/")  # the keyboard shortcut focuses the search box
    driver.switch_to.active_element.send_keys(target.external_ref)
    link = wait_for(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, "#search-list a")))
    assert target.name in link.text
    link.click()
    wait_for(driver, EC.url_contains(target.get_absolute_url()))
    assert page.console_errors() == []


def test_logout_from_the_navbar_ends_the_session(demo, page):
    page.login("manager2", "demo12345")
    driver = page.driver
    wait_for(driver, EC.presence_of_element_located((By.TAG_NAME, "h1")))
    driver.find_element(By.XPATH, "//button[text()='Log out']").click()
    wait_for(driver, EC.url_contains("/login/"))
    page.open("/customers/")
    assert "/login/" in driver.current_url


def test_a_manager_adds_a_customer_with_the_keyboard(demo, page):
    page.login("manager2", "demo12345")
    driver = page.driver
    page.open("/customers/new/")
    name = driver.find_element(By.NAME, "name")
    name.send_keys("Keyboard Works Ltd")
    name.send_keys(Keys.ENTER)
    wait_for(driver, EC.presence_of_element_located((By.XPATH, "//h1[contains(., 'Keyboard Works Ltd')]")))
    assert "Saved Keyboard Works Ltd." in driver.page_source
