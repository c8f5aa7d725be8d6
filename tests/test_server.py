"""End to end: `bridge serve` (gunicorn, the production shape) as a real process, a fake GitHub
on 127.0.0.1, real HTTP in between; crash recovery with kill -9."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from bridge.store.sqlite import SQLiteStore, sqlite_path
from tests.fakes.github import FakeGitHub
from tests.support.samples import ASC_SECRET, PGYER_TOKEN, SAMPLES, sample, signed
from tests.support.servers import Server, process_env

pytestmark = pytest.mark.server
GITHUB_TOKEN = "ghp_e2e_token_must_not_be_logged"
BUILD = "appstoreconnect/build-upload-complete.json"


@pytest.fixture
def server_env(environ: dict[str, str], fake_github: FakeGitHub) -> dict[str, str]:
    return process_env(
        environ,
        WEB_CONCURRENCY="2",
        GITHUB_TOKEN=GITHUB_TOKEN,
        GITHUB_API_URL=fake_github.url,
        BRIDGE_DRY_RUN="0",
        BRIDGE_DISPATCHER="1",
        BRIDGE_LEASE="3s",
        BRIDGE_POLL_INTERVAL="0.5s",
        BRIDGE_GITHUB_TIMEOUT="2s",
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    s = Server(server_env, tmp_path / "server.log").start()
    yield s
    s.stop()


def bridge_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True, timeout=60
    )


def deliveries(env: dict[str, str]) -> list[dict[str, object]]:
    """What the server's store holds now, read from its SQLite file."""
    store = SQLiteStore(sqlite_path(env["DATABASE_URL"]))
    try:
        return [asdict(d) for e in store.recent_events(limit=100) for d in e.deliveries]
    finally:
        store.close()


def wait_for(
    env: dict[str, str], check: Callable[[list[dict[str, object]]], bool], timeout: float = 20
) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while not check(found := deliveries(env)):
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries never matched: {found}")
        time.sleep(0.2)
    return found


def wait_for_state(env: dict[str, str], state: str, timeout: float = 20) -> list[dict[str, object]]:
    return wait_for(env, lambda ds: bool(ds) and all(d["state"] == state for d in ds), timeout)


def test_signed_event_reaches_github(
    server: Server, server_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    """The whole pipeline, checked through the CLI as an operator would."""
    body = sample(BUILD)
    status, answer = server.post("/webhooks/ios", body, signed(body))
    assert (status, answer["routes"]) == (202, ["build-complete"])
    [request] = fake_github.wait_for_dispatches(1)
    assert request.json["event_type"] == "asc-build-complete"
    assert request.json["client_payload"]["event_id"] == answer["event_id"]
    assert request.headers["authorization"] == f"token {GITHUB_TOKEN}"
    [delivery] = wait_for_state(server_env, "delivered")
    assert request.json["client_payload"]["bridge"]["delivery_id"] == delivery["id"]
    listing = bridge_cli(server_env, "events")
    assert "delivered build-complete  attempts=1 HTTP 204" in listing.stdout
    assert server.post("/webhooks/ios", body, signed(body))[0] == 200
    time.sleep(1)
    assert len(fake_github.dispatches()) == 1


def test_no_secret_token_or_signature_in_any_log_line(
    server: Server, server_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    body = sample(BUILD)
    header = signed(body)["X-Apple-Signature"]
    assert server.post("/webhooks/ios", body, signed(body))[0] == 202
    assert (
        server.post("/webhooks/ios", body, {"X-Apple-Signature": "hmacsha256=" + "ab" * 32})[0]
        == 401
    )
    assert (
        server.post(f"/webhooks/beta?token={PGYER_TOKEN}", sample("pgyer/update-version.json"))[0]
        == 202
    )
    assert server.post("/webhooks/beta?token=wrong-guess-123", b"{}")[0] == 401
    fake_github.wait_for_dispatches(2)
    wait_for_state(server_env, "delivered")
    server.stop()
    log = server.log.read_text()
    assert "POST /webhooks/beta" in log  # the access log is there…
    for secret in (
        PGYER_TOKEN,
        "wrong-guess-123",
        ASC_SECRET,
        GITHUB_TOKEN,
        header.split("=")[1],
        "ab" * 32,
    ):
        assert secret not in log  # …without a secret in it


def test_kill_9_with_a_delivery_in_flight_delivers_after_restart(
    server: Server, server_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.enqueue(delay=60)  # GitHub hangs: the delivery is claimed and in flight
    body = sample(BUILD)
    assert server.post("/webhooks/ios", body, signed(body))[0] == 202
    fake_github.wait_for_dispatches(1)
    server.kill9()
    restarted = Server(server_env, tmp_path / "restarted.log").start()
    try:
        requests = fake_github.wait_for_dispatches(2, timeout=30)  # after the 3 s lease expires
        [delivery] = wait_for_state(server_env, "delivered")
        assert requests[1].json["client_payload"]["bridge"]["delivery_id"] == delivery["id"]
    finally:
        restarted.stop()


def test_kill_9_with_a_delivery_pending_retry_delivers_after_restart(
    server: Server, server_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake_github.enqueue(503, headers={"Retry-After": "3"})  # GitHub down: retry in 3 s
    body = sample(BUILD)
    assert server.post("/webhooks/ios", body, signed(body))[0] == 202
    wait_for(server_env, lambda ds: ds[0]["attempts"] == 1 and ds[0]["state"] == "pending")
    server.kill9()  # between two attempts: nothing in flight
    restarted = Server(server_env, tmp_path / "restarted.log").start()
    try:
        [delivery] = wait_for_state(server_env, "delivered", timeout=30)
        assert delivery["attempts"] == len(fake_github.dispatches()) >= 2
    finally:
        restarted.stop()


def test_bridge_send_against_the_server(server: Server, server_env: dict[str, str]) -> None:
    for source, name in (("ios", BUILD), ("beta", "pgyer/update-version.json")):
        out = bridge_cli(server_env, "send", source, str(SAMPLES / name), "--url", server.url)
        assert out.returncode == 0, out.stderr
        assert "→ 202" in out.stdout
        assert PGYER_TOKEN not in out.stdout
    again = bridge_cli(server_env, "send", "ios", str(SAMPLES / BUILD), "--url", server.url)
    assert (again.returncode, "→ 200" in again.stdout) == (0, True)
    wrong = bridge_cli(
        server_env, "send", "ios", str(SAMPLES / BUILD), "--url", server.url, "--secret", "x"
    )
    assert wrong.returncode == 1
    assert "→ 401" in wrong.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"GITHUB_TOKEN": ""}, "no credentials are set"),
        ({"PGYER_TOKEN": ""}, "PGYER_TOKEN"),
        ({"DATABASE_URL": "mysql://x"}, "unsupported scheme"),
    ],
)
def test_serve_refuses_to_start_on_bad_configuration(
    server_env: dict[str, str], change: dict[str, str], message: str
) -> None:
    env = {**server_env, **change}
    env = {k: v for k, v in env.items() if v}
    out = bridge_cli(env, "serve")
    assert out.returncode == 1
    assert message in out.stderr
