"""Headless Debian Chromium driven by Selenium and Debian's matching chromedriver.

Neither Selenium Manager nor any browser download is used: both binaries come from
the system packages `chromium` and `chromium-driver`.
"""

import shutil
import tempfile
import threading

import pytest

from tests.browser.gate import RequestGate
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
def browser(live_server):
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
    # Requesting live_server above makes the browser quit before the server stops. Quitting
    # closes the browser's keep-alive sockets; the server threads serving them then end and
    # close the shared SQLite connection, which they may do only while the server still
    # shares it: so wait for them here, before live_server's teardown stops the sharing.
    driver.quit()
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(timeout=10)
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def request_gate(live_server):
    """The live server's requests pass only while a test runs (see tests/browser/gate.py)."""
    httpd = live_server.thread.httpd
    gate = RequestGate(httpd.get_app())
    httpd.set_app(gate)
    return gate


@pytest.fixture
def served(live_server, request_gate, transactional_db):
    """The live server, open for this test only. Requesting transactional_db here makes
    this fixture's teardown run before the database is flushed: the browser leaves the
    site, the gate waits for the requests in flight and refuses later ones, and only
    then does the flush run, alone on the shared connection."""
    request_gate.open()
    yield live_server
    request_gate.close()


@pytest.fixture
def page(browser, served):
    """The browser, logged out, with helpers bound to the live server."""
    live_server = served
    # CDP clears the cookies of every site, whatever page the browser is on.
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})

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
    yield Page()
    # Leave the site before the gate closes: the page's own requests (htmx) stop here.
    browser.get("about:blank")
