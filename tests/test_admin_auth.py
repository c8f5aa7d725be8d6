"""Who gets into the delivery log: BRIDGE_ADMIN_TOKEN (fail closed), the login form and its
cookie, bearer tokens, CSRF on every POST. Real requests through the Flask test client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from tests.support.app import bridge
from tests.support.auth import TOKEN, log_in
from tests.support.samples import sample, signed

BUILD = sample("appstoreconnect/build-upload-complete.json")
PAGES = ["/", "/deliveries", "/events/ios/x", "/test-payload", "/login"]
POSTS = ["/deliveries/d1/replay", "/deliveries/replay-failed", "/test-payload", "/login"]


def failed_delivery(app: Flask, client: FlaskClient) -> str:
    """An event whose one delivery failed (the "rejected" route's template is broken)."""
    body = sample("appstoreconnect/app-version-rejected.json")
    assert client.post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    bridge(app).dispatcher.run_once()
    [delivery] = bridge(app).store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "failed"
    return delivery.id


# -- without BRIDGE_ADMIN_TOKEN: off, never open ------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_without_a_token_every_page_is_404_and_says_why(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "BRIDGE_ADMIN_TOKEN" in response.text
    assert "text/html" in response.content_type


@pytest.mark.parametrize("path", POSTS)
def test_without_a_token_no_action_runs(app: Flask, client: FlaskClient, path: str) -> None:
    failed = failed_delivery(app, client)
    response = client.post(path, data={"token": "", "csrf_token": ""})
    assert response.status_code == 404
    states = {d.id: d.state for d in bridge(app).store.recent_events(limit=1)[0].deliveries}
    assert states == {failed: "failed"}


def test_without_a_token_a_bearer_header_gets_json_404(client: FlaskClient) -> None:
    response = client.get("/deliveries", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 404
    assert "BRIDGE_ADMIN_TOKEN" in response.get_json()["error"]


def test_without_a_token_webhooks_still_work(client: FlaskClient) -> None:
    assert client.post("/webhooks/ios", data=BUILD, headers=signed(BUILD)).status_code == 202


# -- with a token ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/deliveries", "/events/ios/x", "/test-payload"])
def test_pages_send_strangers_to_the_login_form(admin_app: Flask, path: str) -> None:
    response = admin_app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_with_the_wrong_token_is_refused(admin_app: Flask) -> None:
    client = admin_app.test_client()
    response = client.post("/login", data={"token": TOKEN[:-1], "next": "/deliveries"})
    assert response.status_code == 401
    assert "Wrong token" in response.text
    assert "Set-Cookie" not in response.headers
    assert client.get("/deliveries").status_code == 302


def test_login_sets_a_secure_httponly_samesite_cookie(admin_app: Flask) -> None:
    client = admin_app.test_client()
    response = client.post("/login", data={"token": TOKEN, "next": "/deliveries?state=failed"})
    assert (response.status_code, response.headers["Location"]) == (302, "/deliveries?state=failed")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("bridge_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert TOKEN not in cookie
    assert client.get("/deliveries").status_code == 200


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x", ""]
)
def test_login_never_redirects_to_another_site(admin_app: Flask, target: str) -> None:
    response = admin_app.test_client().post("/login", data={"token": TOKEN, "next": target})
    assert response.headers["Location"] == "/deliveries"


def test_a_cookie_from_before_a_token_rotation_is_worthless(
    admin_app: Flask, environ: dict[str, str]
) -> None:
    client = admin_app.test_client()
    log_in(client)
    cookie = client.get_cookie("bridge_session")
    assert cookie is not None
    rotated = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": "a-new-token-0123456789"})
    other = rotated.test_client()
    other.set_cookie("bridge_session", cookie.value)
    assert other.get("/deliveries").status_code == 302
    bridge(rotated).store.close()


def test_logout_ends_the_session(admin_app: Flask) -> None:
    client = admin_app.test_client()
    csrf = log_in(client)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/deliveries").status_code == 302


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"Bearer {TOKEN}", 200),
        (f"bearer {TOKEN}", 200),
        (f"Bearer {TOKEN}x", 401),
        ("Bearer ", 401),
        (f"Token {TOKEN}", 401),
        (f"Basic {TOKEN}", 401),
    ],
)
def test_bearer_header(admin_app: Flask, header: str, status: int) -> None:
    response = admin_app.test_client().get("/deliveries", headers={"Authorization": header})
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="bridge"'


def test_a_wrong_bearer_header_is_refused_even_with_a_session(admin_app: Flask) -> None:
    client = admin_app.test_client()
    log_in(client)
    response = client.get("/deliveries", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


# -- CSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        ({}, {}),
        ({"csrf_token": "forged"}, {}),
        ({"csrf_token": "{csrf}"}, {"Origin": "https://evil.example"}),
    ],
)
def test_posts_from_a_session_need_its_csrf_token(
    admin_app: Flask, form: dict[str, str], headers: dict[str, str]
) -> None:
    client = admin_app.test_client()
    csrf = log_in(client)
    failed = failed_delivery(admin_app, client)
    data = {k: v.format(csrf=csrf) for k, v in form.items()}
    for path in (f"/deliveries/{failed}/replay", "/deliveries/replay-failed"):
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 403
        assert "expired" in response.text
    [delivery] = bridge(admin_app).store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "failed"  # nothing was queued


def test_a_post_with_the_csrf_token_and_same_origin_goes_through(admin_app: Flask) -> None:
    client = admin_app.test_client()
    csrf = log_in(client)
    failed = failed_delivery(admin_app, client)
    response = client.post(
        f"/deliveries/{failed}/replay",
        data={"csrf_token": csrf, "next": "/deliveries"},
        headers={"Origin": "http://localhost"},
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/deliveries")
    [delivery] = bridge(admin_app).store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "pending"


def test_behind_a_proxy_that_rewrites_host_the_forwarded_host_counts(admin_app: Flask) -> None:
    client = admin_app.test_client()
    csrf = log_in(client)
    failed = failed_delivery(admin_app, client)
    origin = {"Origin": "https://bridge.example.com"}
    refused = client.post(f"/deliveries/{failed}/replay", data={"csrf_token": csrf}, headers=origin)
    assert refused.status_code == 403
    response = client.post(
        f"/deliveries/{failed}/replay",
        data={"csrf_token": csrf},
        headers={**origin, "X-Forwarded-Host": "bridge.example.com"},
    )
    assert response.status_code == 302


def test_a_bearer_post_needs_no_csrf_token_and_answers_json(admin_app: Flask) -> None:
    client = admin_app.test_client()
    failed = failed_delivery(admin_app, client)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post(f"/deliveries/{failed}/replay", headers=auth)
    assert (response.status_code, response.get_json()) == (200, {"queued": 1})
    again = client.post("/deliveries/no-such-delivery/replay", headers=auth)
    assert (again.status_code, again.get_json()) == (409, {"queued": 0})


def test_pages_carry_security_headers(admin_app: Flask) -> None:
    client = admin_app.test_client()
    log_in(client)
    for path in ("/deliveries", "/test-payload", "/login"):
        headers = client.get(path).headers
        assert "script-src" not in headers["Content-Security-Policy"]
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
