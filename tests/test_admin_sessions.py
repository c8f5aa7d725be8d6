"""Admin sessions end server-side: after logging out, a copy of the cookie no longer opens
the log; "log out everywhere" ends every session; no session lasts more than 24 h however
active. Through a real ``bridge serve`` with two workers (the state is in the store, shared
by every process), and the store's side on SQLite and PostgreSQL."""

from __future__ import annotations

import http.client
import os
import re
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge import create_app
from bridge.store import Store
from tests.support.app import bridge
from tests.support.servers import Server, free_port

ADMIN = "admin-token-for-session-tests-0123456789"


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update({"PORT": str(free_port()), "WEB_CONCURRENCY": "2", "BRIDGE_ADMIN_TOKEN": ADMIN})
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def call(
    server: Server, method: str, path: str, cookie: str | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def log_in(server: Server) -> str:
    status, headers, _ = call(server, "POST", "/login", form={"token": ADMIN})
    assert status == 302
    return headers["Set-Cookie"].split(";", 1)[0]


def opens_the_log(server: Server, cookie: str) -> bool:
    """Asked four times, so that both workers answer at least once in practice."""
    answers = {call(server, "GET", "/deliveries", cookie)[0] for _ in range(4)}
    assert len(answers) == 1, answers  # every worker agrees
    return answers == {200}


def csrf(server: Server, cookie: str) -> str:
    page = call(server, "GET", "/deliveries", cookie)[2]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.server
def test_a_copied_cookie_stops_working_after_logout(server: Server) -> None:
    cookie = log_in(server)
    copy = cookie
    assert opens_the_log(server, copy)
    token = csrf(server, cookie)
    assert call(server, "POST", "/logout", cookie, {"csrf_token": token})[0] == 302
    assert not opens_the_log(server, copy)
    other = log_in(server)  # logging out ended that session only
    assert opens_the_log(server, other)


@pytest.mark.server
def test_log_out_everywhere_ends_every_session(server: Server) -> None:
    first, second = log_in(server), log_in(server)
    assert opens_the_log(server, first) and opens_the_log(server, second)
    form = {"csrf_token": csrf(server, first), "everywhere": "1"}
    assert call(server, "POST", "/logout", first, form)[0] == 302
    assert not opens_the_log(server, first)
    assert not opens_the_log(server, second)
    assert opens_the_log(server, log_in(server))
    assert "admin logged out everywhere" in server.log.read_text()


@pytest.mark.server
def test_no_session_lasts_more_than_24_hours(server: Server, environ: dict[str, str]) -> None:
    """A cookie signed with the right key (as bridge signs them) but opened 25 h ago."""
    cookie = log_in(server)
    assert opens_the_log(server, cookie)
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": ADMIN})
    try:
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        fields = {"admin": True, "csrf": "x", "sid": "old-session", "gen": 0, "_permanent": True}
        old = serializer.dumps({**fields, "since": time.time() - 25 * 3600})
        fresh = serializer.dumps({**fields, "since": time.time() - 3600})
    finally:
        bridge(app).close()
    assert opens_the_log(server, f"bridge_session={fresh}")  # the forged cookie is well formed
    status, headers, _ = call(server, "GET", "/deliveries", f"bridge_session={old}")
    assert status == 302 and headers["Location"].startswith("/login")


def test_the_store_keeps_generations_and_revoked_sessions(store: Store) -> None:
    assert store.session_generation() == 0
    assert not store.session_revoked("s1")
    store.revoke_session("s1", now=1000.0, forget_before=0.0)
    store.revoke_session("s1", now=1001.0, forget_before=0.0)  # twice: no error
    assert store.session_revoked("s1")
    store.revoke_session("s2", now=2000.0, forget_before=1500.0)  # s1 is forgotten now
    assert not store.session_revoked("s1") and store.session_revoked("s2")
    assert store.end_all_sessions() == 1
    assert store.end_all_sessions() == 2 == store.session_generation()
