"""`bridge serve` stopped (SIGTERM, as Heroku and Render stop a dyno) while its dispatchers are
busy with a backlog: each worker stops its dispatcher before Python shuts down, so the stop is
quiet and what was not sent stays pending for the next start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.store.sqlite import SQLiteStore, sqlite_path
from tests.fakes.github import FakeGitHub
from tests.support.samples import sample, signed
from tests.support.servers import Server, process_env

pytestmark = pytest.mark.server


def build_event(n: int) -> bytes:
    payload = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    payload["data"]["id"] = f"stop-{n:04d}"
    payload["data"]["relationships"]["instance"]["data"]["id"] = f"upload-{n:04d}"
    return json.dumps(payload).encode()


def test_stopping_with_a_backlog_stops_each_dispatcher_before_python_exits(
    environ: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    env = process_env(
        environ,
        WEB_CONCURRENCY="2",
        GITHUB_TOKEN="ghp_graceful_stop_token",
        GITHUB_API_URL=fake_github.url,
        BRIDGE_DRY_RUN="0",
        BRIDGE_DISPATCHER="1",
        BRIDGE_POLL_INTERVAL="0.2s",
    )
    fake_github.enqueue(204, delay=0.3, times=1000)  # a slow GitHub: the backlog stays
    server = Server(env, tmp_path / "server.log").start()
    try:
        for n in range(40):
            status, _ = server.post("/webhooks/ios", build_event(n), signed(build_event(n)))
            assert status == 202
        fake_github.wait_for_dispatches(2, timeout=10)
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode == 0
    log = server.log.read_text()
    assert "dispatcher loop error" not in log and "Traceback" not in log, log
    store = SQLiteStore(sqlite_path(env["DATABASE_URL"]))
    try:
        states = [d.state for e in store.recent_events(limit=100) for d in e.deliveries]
    finally:
        store.close()
    assert len(states) == 40 and "pending" in states  # nothing lost, the rest waits
    assert set(states) <= {"pending", "delivered"}
