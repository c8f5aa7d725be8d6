"""Token guesses are throttled per client: 10 wrong tokens in a minute (login form, admin
bearer, /metrics bearer) and that client gets 429 with Retry-After, even with the right
token; other clients are not affected. Behind one proxy (BRIDGE_PROXY_HOPS=1) the client is
the last X-Forwarded-For address, whatever the client put before it. Through a real
``bridge serve`` with one worker (the counts live in each worker)."""

from __future__ import annotations

import http.client
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.ui.throttle import MAX_FAILURES
from tests.support.servers import Server, free_port

pytestmark = pytest.mark.server
ADMIN = "admin-token-for-throttle-tests-0123456789"
METRICS = "metrics-token-for-throttle-tests-0123456789"


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update(
        {
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "1",
            "BRIDGE_PROXY_HOPS": "1",
            "BRIDGE_ADMIN_TOKEN": ADMIN,
            "BRIDGE_METRICS_TOKEN": METRICS,
            "LOG_LEVEL": "INFO",
        }
    )
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def request(
    server: Server, method: str, path: str, *, client: str, body: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str]]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        sent = {"X-Forwarded-For": client, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        conn.close()


def login(server: Server, token: str, client: str) -> tuple[int, dict[str, str]]:
    form = urllib.parse.urlencode({"token": token, "next": "/deliveries"})
    return request(server, "POST", "/login", client=client, body=form)


def test_wrong_login_tokens_get_429_then_even_the_right_one(server: Server) -> None:
    attacker = "203.0.113.5"
    for _ in range(MAX_FAILURES):
        assert login(server, "guess-0123456789abcdef", attacker)[0] == 401
    status, headers = login(server, ADMIN, attacker)
    assert status == 429
    assert 0 < int(headers["Retry-After"]) <= 60
    # A client-supplied X-Forwarded-For prefix does not make a new client: the router's
    # address (the last one) is the one counted.
    assert login(server, ADMIN, f"198.51.100.1, {attacker}")[0] == 429
    # Another client logs in as usual.
    assert login(server, ADMIN, "203.0.113.6")[0] == 302
    log = server.log.read_text()
    assert log.count(f"throttled {attacker}") == 1
    assert "guess-0123456789abcdef" not in log


@pytest.mark.parametrize("path", ["/metrics", "/deliveries"])
def test_wrong_bearer_tokens_get_429(server: Server, path: str) -> None:
    client = "198.51.100.7"
    wrong = {"Authorization": "Bearer wrong-token-0123456789"}
    for _ in range(MAX_FAILURES):
        assert request(server, "GET", path, client=client, headers=wrong)[0] == 401
    right = {"Authorization": f"Bearer {METRICS if path == '/metrics' else ADMIN}"}
    status, headers = request(server, "GET", path, client=client, headers=right)
    assert status == 429 and "Retry-After" in headers
    assert request(server, "GET", path, client="198.51.100.8", headers=right)[0] == 200


def test_a_right_token_resets_the_count(server: Server) -> None:
    client = "203.0.113.9"
    for _ in range(MAX_FAILURES - 1):
        assert login(server, "guess-0123456789abcdef", client)[0] == 401
    assert login(server, ADMIN, client)[0] == 302
    for _ in range(MAX_FAILURES - 1):
        assert login(server, "guess-0123456789abcdef", client)[0] == 401
    assert login(server, ADMIN, client)[0] == 302
