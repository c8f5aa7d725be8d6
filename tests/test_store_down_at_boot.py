"""A database that does not answer when bridge starts is not a crash loop: a real
``bridge serve`` starts anyway, answers 503 with Retry-After on webhooks and /healthz, and
serves normally once PostgreSQL (a real server, started late) answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer
from tests.support.samples import sample, signed
from tests.support.servers import Server, free_port

pytestmark = pytest.mark.server
BUILD = sample("appstoreconnect/build-upload-complete.json")


def get(url: str) -> tuple[int, dict[str, str], dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def post(url: str, body: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=signed(body))
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def wait_for_status(url: str, status: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url)[0] == status:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {status} within {timeout:.0f} s")


def test_serve_starts_with_the_database_down_and_recovers_when_it_answers(
    environ: dict[str, str], tmp_path: Path
) -> None:
    pg = PostgresServer()
    pg.init()  # created, not started: nothing listens on its port yet
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    # One worker: the one that answers 503 is the one that must recover.
    env.update({"PORT": str(free_port()), "DATABASE_URL": pg.url(), "WEB_CONCURRENCY": "1"})
    log = tmp_path / "server.log"
    server = Server(env, log)
    try:
        with log.open("ab") as out:
            server.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1"],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_for_status(f"{server.url}/healthz", 503)
        status, headers, answer = get(f"{server.url}/healthz")
        assert (status, headers.get("Retry-After"), answer["status"]) == (503, "5", "unavailable")
        status, headers, answer = post(f"{server.url}/webhooks/ios", BUILD)
        assert (status, headers.get("Retry-After")) == (503, "5")
        assert "retry later" in str(answer["error"])
        assert server.proc.poll() is None  # still running: no "Worker failed to boot"

        pg.start()
        wait_for_status(f"{server.url}/healthz", 200)
        # Each worker tries again on its own backoff: a sender retrying gets in within it.
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, _, answer = post(f"{server.url}/webhooks/ios", BUILD)
            statuses.append(status)
            if status != 503:
                break
            time.sleep(0.5)
        assert (status, answer["status"]) == (202, "accepted"), statuses
    finally:
        server.stop()
        pg.cleanup()
    text = log.read_text()
    assert "Worker failed to boot" not in text
    # Logged once per state change and process (the master's check, the worker), not per
    # request, however many requests were refused meanwhile.
    assert text.count("store unavailable at start") == 2, text
    assert text.count("store available again") == 1, text
