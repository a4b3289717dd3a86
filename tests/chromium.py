"""Headless Chromium through selenium, for tests of the HTML report.

``driver()`` starts Debian's chromium with chromium-driver (found on PATH; selenium is never
left to download one). Without them the tests that need a browser are skipped, saying why,
unless ``EVALBEAM_REQUIRE_BROWSER`` is set (as ``.ci/run`` does): then they fail.

The browser's console and its DevTools performance log are read after each page: the report
must log no error and request nothing over the network (``file:``, ``data:``, ``blob:`` and
``about:`` are the page itself).
"""
import json
import os
import pathlib
import shutil

import pytest

REQUIRE = "EVALBEAM_REQUIRE_BROWSER"
READY_SECONDS = 60
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def _missing(reason: str):
    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason} ({REQUIRE} is set, so the browser tests must run)", pytrace=False)
    pytest.skip(f"{reason}: install Debian's chromium and chromium-driver to run the browser tests")


def binaries() -> tuple:
    """(chromium, chromedriver) paths, or skip / fail as the module says."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                   "google-chrome"))), None)
    driver_path = shutil.which("chromedriver")
    if browser is None or driver_path is None:
        _missing("no " + " and no ".join(name for name, path in (
            ("chromium", browser), ("chromedriver", driver_path)) if path is None) + " on PATH")
    return browser, driver_path


def driver():
    """A headless Chromium WebDriver logging the console and the network."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed (the [test] extra)")
    browser, driver_path = binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1400,1000",
                 # a sandboxed iframe (the notebook view) in the page's own process, so its
                 # console and network requests reach the logs read here; its origin stays
                 # opaque and its sandbox as declared
                 "--disable-features=IsolateSandboxedIframes"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # an alert a page opens stays open, for the test to find (not dismissed by the driver)
    options.set_capability("unhandledPromptBehavior", "ignore")
    d = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    d.set_window_size(1400, 1000)
    return d


def url(path) -> str:
    return pathlib.Path(path).resolve().as_uri()


def wait(d, condition, what: str, seconds=20):
    """Until ``condition(d)`` is truthy; its value. A timeout names ``what`` and the
    console's errors."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(d, seconds, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(f"timed out after {seconds} s waiting for {what}; console errors: "
                             f"{console_errors(d)}") from None


def wait_ready(d, seconds=READY_SECONDS) -> None:
    """Until the page says its first view is drawn (``EB.ready``)."""
    wait(d, lambda d: d.execute_script("return !!(window.EB && window.EB.ready === true)"),
         "the page's first view (EB.ready)", seconds)


def open_page(d, address: str) -> None:
    """Open a report (a path or a URL) in the current tab and wait for its first view."""
    d.get(address if "://" in address else url(address))
    wait_ready(d)


def open_in_new_tab(d, address: str) -> None:
    """Open ``address`` in a new tab, as a copied link is opened, and wait for its first view."""
    d.switch_to.new_window("tab")
    open_page(d, address)


class Logs:
    """The console errors and network requests of a driver's pages, kept as they are read
    (reading a WebDriver log empties it)."""

    def __init__(self, d):
        self.driver = d
        self.errors, self.requests = [], []

    def read(self):
        self.errors += [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                address = message["params"]["request"]["url"]
                if not address.startswith(LOCAL_SCHEMES):
                    self.requests.append(address)
        return self

    def take(self) -> tuple:
        """(errors, requests) read since the last take."""
        self.read()
        out = (self.errors, self.requests)
        self.errors, self.requests = [], []
        return out


def logs(d) -> Logs:
    """The driver's Logs (one per driver)."""
    if not hasattr(d, "evalbeam_logs"):
        d.evalbeam_logs = Logs(d)
    return d.evalbeam_logs


def console_errors(d) -> list:
    """The SEVERE browser-log entries (console.error, uncaught exceptions, failed loads)
    since the last take."""
    return list(logs(d).read().errors)


def network_requests(d) -> list:
    """Every URL the pages asked for over the network (Network.requestWillBeSent, not
    file:, data:, blob: or about:) since the last take."""
    return list(logs(d).read().requests)
