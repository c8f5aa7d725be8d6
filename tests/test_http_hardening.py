"""Headers a browser relies on, and a GitHub that redirects elsewhere: HSTS on admin pages
served over HTTPS (behind a proxy saying so), ``nosniff`` on webhook answers, through a real
``bridge serve``; a 301 to another host fails the delivery at once instead of being retried
for 24 h (a fake GitHub on 127.0.0.1)."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from bridge import create_app
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge
from tests.support.samples import sample, signed
from tests.support.servers import Server, free_port

ADMIN = "admin-token-for-header-tests-0123456789"


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update({"PORT": str(free_port()), "BRIDGE_PROXY_HOPS": "1", "BRIDGE_ADMIN_TOKEN": ADMIN})
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def call(
    server: Server, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@pytest.mark.server
def test_admin_pages_over_https_send_hsts_and_plain_http_does_not(server: Server) -> None:
    status, headers = call(server, "GET", "/login", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000"
    status, headers = call(server, "GET", "/login", {"X-Forwarded-Proto": "http"})
    assert status == 200 and "strict-transport-security" not in headers


@pytest.mark.server
def test_webhook_answers_are_never_sniffed(server: Server) -> None:
    body = sample("appstoreconnect/build-upload-complete.json")
    for headers, expected in ((signed(body), 202), ({}, 401)):
        status, answer = call(server, "POST", "/webhooks/ios", headers, body)
        assert status == expected
        assert answer["x-content-type-options"] == "nosniff"
        assert answer["content-type"] == "application/json"
    status, answer = call(server, "POST", "/webhooks/nope", {}, b"{}")
    assert (status, answer["x-content-type-options"]) == (404, "nosniff")


@pytest.fixture
def sending_app(environ: dict[str, str], fake_github: FakeGitHub) -> Iterator[Flask]:
    app = create_app(
        environ={
            **environ,
            "BRIDGE_DRY_RUN": "0",
            "GITHUB_TOKEN": "ghp_redirect_test_token",
            "GITHUB_API_URL": fake_github.url,
        }
    )
    yield app
    bridge(app).close()


def test_a_redirect_to_another_host_fails_the_delivery_at_once(
    sending_app: Flask, fake_github: FakeGitHub
) -> None:
    body = sample("appstoreconnect/build-upload-complete.json")
    client = sending_app.test_client()
    assert client.post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    elsewhere = "http://elsewhere.example/repos/acme/ios/dispatches"
    fake_github.enqueue(301, headers={"Location": elsewhere}, body={"message": "Moved"})
    bridge(sending_app).dispatcher.run_once()
    [delivery] = bridge(sending_app).store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "failed", delivery
    assert delivery.last_error is not None and "elsewhere.example" in delivery.last_error
    assert len(fake_github.requests) == 1
    assert "ghp_redirect_test_token" not in json.dumps(delivery.last_error)
