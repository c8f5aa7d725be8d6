"""After login (and the log's forms), ``next`` never sends the browser to another site: a
corpus of known open-redirect bypasses through real requests, each Location read the way a
browser's URL parser reads it (https://url.spec.whatwg.org/#concept-basic-url-parser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from tests.support.app import bridge

TOKEN = "admin-token-for-redirect-tests-0123456789"
ORIGIN = "https://bridge.example"

BYPASSES = [
    "//evil.example",
    "///evil.example",
    "////evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\t\\evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x1f/evil.example",
    "/\x7f/evil.example",
    "/ /evil.example",
    " //evil.example",
    "\t//evil.example",
    "/\u00a0/evil.example",
    "/\u2028/evil.example",
    "/\u3000/evil.example",
    "/\ufeff/evil.example",
    "/\u200b/evil.example",
    "https://evil.example",
    "https:evil.example",
    "//evil.example/%2F..",
    "javascript:alert(1)",
    "/" + "a" * 5000,
]
LOCAL = ["/deliveries", "/deliveries?state=failed&source=ios", "/events/ios/x%2Fy", "/.//x"]


def browser_target(location: str) -> str:
    """Where a browser goes for this Location on ORIGIN/login (scheme://host/path)."""
    cleaned = location.strip("".join(map(chr, range(0x21))))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    resolved = urlsplit(urljoin(f"{ORIGIN}/login", cleaned))
    return f"{resolved.scheme}://{resolved.netloc}{resolved.path}"


@pytest.fixture
def admin_app(environ: dict[str, str]) -> Iterator[Flask]:
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": TOKEN})
    yield app
    bridge(app).close()


@pytest.fixture
def client(admin_app: Flask) -> FlaskClient:
    return admin_app.test_client()


@pytest.mark.parametrize("target", BYPASSES)
def test_login_form_never_redirects_off_site(client: FlaskClient, target: str) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": target}, base_url=ORIGIN)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert browser_target(location).startswith(ORIGIN + "/"), location
    assert location == "/deliveries"


@pytest.mark.parametrize("target", BYPASSES)
def test_a_logged_in_admin_following_a_login_link_stays_on_site(
    client: FlaskClient, target: str
) -> None:
    assert client.post("/login", data={"token": TOKEN}, base_url=ORIGIN).status_code == 302
    response = client.get("/login?next=" + quote(target, safe=""), base_url=ORIGIN)
    assert response.status_code == 302
    assert browser_target(response.headers["Location"]).startswith(ORIGIN + "/")
    assert response.headers["Location"] == "/deliveries"


@pytest.mark.parametrize("target", LOCAL)
def test_local_paths_are_kept(client: FlaskClient, target: str) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": target}, base_url=ORIGIN)
    assert response.headers["Location"] == target
