"""End to end in a real headless Chromium: log in to the delivery log of a real ``bridge
serve``, see a delivered and a failed event, replay the failed one, see it delivered.
Screenshots go to ``test-artifacts/`` (desktop and phone widths).

Skipped when Chromium or chromedriver is missing, unless ``BRIDGE_REQUIRE_BROWSER`` is set (as
``.ci/run`` does, after installing Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from tests.fakes.github import FakeGitHub
from tests.support.samples import sample, signed
from tests.support.servers import Server, process_env

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
ADMIN_TOKEN = "browser-test-admin-token-0123456789"
BUILD = sample("appstoreconnect/build-upload-complete.json")  # route build-complete
READY = sample("appstoreconnect/app-version-ready-for-distribution.json")  # two routes


class Browser:
    """Selenium's Chrome driver on the system's Chromium and chromedriver (given by path, so
    Selenium Manager downloads nothing), with the few steps the test needs."""

    def __init__(self, chromium: str, chromedriver: str, log: Path) -> None:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-extensions", "--window-size=1280,1000"):  # fmt: skip
            options.add_argument(arg)
        service = webdriver.ChromeService(executable_path=chromedriver, log_output=str(log))
        self.driver = webdriver.Chrome(options=options, service=service)

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    def get(self, url: str) -> None:
        self.driver.get(url)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, element: WebElement) -> str:
        return str(element.text)

    def click(self, css: str) -> None:
        """Click; when that leaves the page (a link, a form's submit button), return once the
        next page has replaced it: the click itself returns before."""
        element = self.find(css)
        leaves = element.tag_name == "a" or element.get_attribute("type") == "submit"
        page = self.find("html")
        element.click()
        if leaves:
            WebDriverWait(self.driver, 10).until(staleness_of(page))

    def type(self, css: str, text: str) -> None:
        self.find(css).send_keys(text)

    def cookies(self) -> list[dict[str, object]]:
        return list(self.driver.get_cookies())

    def set_size(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(path))

    def wait_for_text(self, css: str, text: str, timeout: float = 20) -> None:
        """Reload until an element matching ``css`` contains ``text``."""
        deadline = time.monotonic() + timeout
        while not any(text in e.text for e in self.find_all(css)):
            assert time.monotonic() < deadline, f"no {css!r} containing {text!r} on {self.url}"
            time.sleep(0.3)
            self.driver.refresh()

    def wait_for_url(self, path: str, timeout: float = 10) -> None:
        """Wait for the page at ``path``: a click on a form button returns before the next
        page has loaded, and the page it leaves may hold ``path`` in its query string
        (``/login?next=/deliveries``)."""
        WebDriverWait(self.driver, timeout).until(
            lambda d: urlsplit(str(d.current_url)).path == path
        )

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        message = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("BRIDGE_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    b = Browser(chromium, chromedriver, tmp_path / "chromedriver.log")
    yield b
    b.quit()


@pytest.fixture
def server(environ: dict[str, str], fake_github: FakeGitHub, tmp_path: Path) -> Iterator[Server]:
    env = process_env(
        environ,
        WEB_CONCURRENCY="2",
        GITHUB_TOKEN="ghp_browser_test_token",
        GITHUB_API_URL=fake_github.url,
        BRIDGE_DRY_RUN="0",
        BRIDGE_DISPATCHER="1",
        BRIDGE_POLL_INTERVAL="0.5s",
        BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN,
    )
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def test_log_in_see_failed_replay_see_delivered(
    browser: Browser, server: Server, fake_github: FakeGitHub
) -> None:
    fake_github.enqueue(404, match=r"^/repos/acme/ios/dispatches$")  # the first one fails
    assert server.post("/webhooks/ios", BUILD, signed(BUILD))[0] == 202
    fake_github.wait_for_dispatches(1, timeout=20)
    assert server.post("/webhooks/ios", READY, signed(READY))[0] == 202
    fake_github.wait_for_dispatches(3, timeout=20)

    browser.get(f"{server.url}/deliveries")
    assert "/login" in browser.url  # not logged in: the log is not shown
    browser.type("#token", ADMIN_TOKEN)
    browser.click("form button[type=submit]")
    browser.wait_for_url("/deliveries")
    assert browser.url == f"{server.url}/deliveries"
    [cookie] = [c for c in browser.cookies() if c["name"] == "bridge_session"]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")

    browser.wait_for_text(".event", "version-live")
    events = [browser.text(e) for e in browser.find_all(".event")]
    assert "FAILED" in events[1] and "build-complete" in events[1]
    assert "HTTP 404" in events[1]
    assert "DELIVERED" in events[0] and "workflow run" in events[0]
    assert "1\nfailed" in browser.text(browser.find(".counts")).replace(" ", "\n")
    browser.screenshot(ARTIFACTS / "delivery-log.png")

    browser.click(".event .delivery details.confirm summary")
    browser.click(".event .delivery details.confirm button[type=submit]")
    assert "queued again" in browser.text(browser.find(".flash.ok"))
    fake_github.wait_for_dispatches(4, timeout=20)
    browser.wait_for_text(".event:nth-of-type(2) .delivery", "DELIVERED")
    assert browser.find_all(".badge.failed") == []

    browser.click(".event:nth-of-type(2) a.event-type")
    assert "/events/ios/0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d" in browser.url
    rows = [browser.text(r) for r in browser.find_all("table.attempts tbody tr")]
    assert len(rows) == 2
    assert "FAILED" in rows[0] and "404" in rows[0]
    assert "DELIVERED" in rows[1] and "204" in rows[1]
    assert "asc-build-complete" in browser.text(browser.find("pre.json"))
    browser.screenshot(ARTIFACTS / "event-detail.png")

    browser.set_size(390, 900)  # a phone
    browser.get(f"{server.url}/deliveries")
    browser.screenshot(ARTIFACTS / "delivery-log-phone.png")
    assert "Deliveries" in browser.text(browser.find(".main-nav"))

    browser.click(".main-nav button")  # log out
    browser.wait_for_url("/login")
    browser.get(f"{server.url}/deliveries")
    assert "/login" in browser.url
