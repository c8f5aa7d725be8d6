"""A headless Chromium driven through chromedriver's W3C WebDriver HTTP API (the protocol
Selenium speaks, https://www.w3.org/TR/webdriver2/), with the system's browser: Debian's
``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). No extra Python package.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.server_process import free_port

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element reference key


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class WebDriverError(AssertionError):
    pass


class Browser:
    def __init__(self, browser: str, driver: str, log: Path, *, width: int, height: int) -> None:
        self.port = free_port()
        self._log = log.open("ab")
        self._driver = subprocess.Popen(
            [driver, f"--port={self.port}"], stdout=self._log, stderr=subprocess.STDOUT
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self._wait_ready()
        options = {
            "binary": browser,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", f"--window-size={width},{height}",
            ],
        }  # fmt: skip
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/status", timeout=1) as r:
                    if json.loads(r.read())["value"]["ready"]:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise WebDriverError("chromedriver did not start")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as exc:
            raise WebDriverError(f"{method} {path}: {exc.read().decode()[:500]}") from None

    def _session(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call(method, f"/session/{self.session}{path}", body)

    # -- what tests use -------------------------------------------------------------------------

    def get(self, url: str) -> None:
        self._session("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self._session("GET", "/url"))

    @property
    def page_source(self) -> str:
        return str(self._session("GET", "/source"))

    def find(self, css: str) -> str:
        """The element's reference; raises when no element matches."""
        found = self._session("POST", "/element", {"using": "css selector", "value": css})
        return str(found[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        found = self._session("POST", "/elements", {"using": "css selector", "value": css})
        return [str(f[ELEMENT]) for f in found]

    def text(self, element: str) -> str:
        return str(self._session("GET", f"/element/{element}/text"))

    def click(self, css_or_element: str, *, css: bool = True) -> None:
        element = self.find(css_or_element) if css else css_or_element
        self._session("POST", f"/element/{element}/click")

    def type(self, css: str, text: str) -> None:
        self._session("POST", f"/element/{self.find(css)}/value", {"text": text})

    def cookies(self) -> list[dict[str, Any]]:
        cookies: list[dict[str, Any]] = self._session("GET", "/cookie")
        return cookies

    def set_size(self, width: int, height: int) -> None:
        self._session("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._session("GET", "/screenshot")))

    def wait_for_text(self, css: str, text: str, timeout: float = 20) -> None:
        """Reload until an element matching ``css`` contains ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            if any(text in self.text(e) for e in self.find_all(css)):
                return
            if time.monotonic() > deadline:
                raise WebDriverError(f"no {css!r} containing {text!r} on {self.url}")
            time.sleep(0.3)
            self.get(self.url)

    def quit(self) -> None:
        try:
            self._call("DELETE", f"/session/{self.session}")
        finally:
            self._driver.terminate()
            self._driver.wait(10)
            self._log.close()
