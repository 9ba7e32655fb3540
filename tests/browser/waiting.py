"""One way for the browser tests to wait for the page."""

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import WebDriverWait


def wait_for(driver, condition, timeout=30):
    """Poll until the condition holds, for up to `timeout` seconds (generous: CI runs the
    browser on a loaded 2-core machine). While a page is being replaced Chromium may answer
    "node does not belong to the document" (a WebDriverException, not a stale element):
    that is the navigation still under way, so poll again."""
    return WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(condition)
