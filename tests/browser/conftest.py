"""Headless Debian Chromium driven by Selenium and Debian's matching chromedriver.

Neither Selenium Manager nor any browser download is used: both binaries come from
the system packages `chromium` and `chromium-driver`.
"""

import shutil
import tempfile

import pytest

from tests.conftest import require

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


@pytest.fixture(scope="session")
def browser():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        require("CRM_REQUIRE_BROWSER", "Debian chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="crm-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser, live_server):
    """The browser, logged out, with helpers bound to the live server."""
    browser.delete_all_cookies()

    class Page:
        driver = browser
        base = live_server.url

        def open(self, path):
            browser.get(self.base + path)
            return browser

        def login(self, username, password):
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait

            self.open("/login/")
            browser.find_element(By.NAME, "username").send_keys(username)
            browser.find_element(By.NAME, "password").send_keys(password)
            browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
            WebDriverWait(browser, 10).until(lambda driver: "/login/" not in driver.current_url)

        def console_errors(self):
            return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]

    browser.get_log("browser")  # drop what an earlier test left
    return Page()
