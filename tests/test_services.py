"""The composition root: what a process builds it closes, every CLI command included, and a
``bridge worker``'s attempts are counted in the web app's /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from bridge.cli import cli
from bridge.services import Services, build_services
from tests.support.samples import SAMPLES, signed
from tests.support.servers import Server, free_port


def other_connections(url: str) -> int:
    """Connections to the test database other than this query's own."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def threads_left(before: set[threading.Thread], timeout: float = 5.0) -> list[str]:
    """Threads started since ``before`` that are still running (a pool's workers, say)."""
    deadline = time.monotonic() + timeout
    while (left := [t.name for t in threading.enumerate() if t not in before]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    return left


def settle_to_zero(url: str, timeout: float = 5.0) -> int:
    """A closed connection's server process ends a moment after the client hangs up."""
    deadline = time.monotonic() + timeout
    while (count := other_connections(url)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


COMMANDS = [
    ["events"],
    ["events", "--json", "--source", "ios"],
    ["replay", "--failed"],
    ["prune", "--older-than", "30d", "--yes"],
    ["db", "upgrade"],
    ["simulate", "ios", str(SAMPLES / "appstoreconnect" / "build-upload-complete.json")],
    ["--routes", str(SAMPLES.parent.parent / "routes.yaml"), "check"],  # (renders every route)
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_closes_its_store(
    args: list[str], environ: dict[str, str], postgres_url: str
) -> None:
    env = {**environ, "DATABASE_URL": postgres_url}
    with build_services(env) as services:  # the schema, and an event to list
        services.store.migrate()
    assert settle_to_zero(postgres_url) == 0
    before = set(threading.enumerate())
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert threads_left(before) == []
    assert settle_to_zero(postgres_url) == 0


def test_a_failing_command_closes_its_store_too(environ: dict[str, str], postgres_url: str) -> None:
    env = {**environ, "DATABASE_URL": postgres_url}
    before = set(threading.enumerate())
    result = CliRunner().invoke(cli, ["replay", "no-such-event"], env=env)
    assert result.exit_code == 1 and "no event with id 'no-such-event'" in result.output
    assert threads_left(before) == []
    assert settle_to_zero(postgres_url) == 0


def test_close_stops_and_closes_only_what_was_built(environ: dict[str, str]) -> None:
    services = build_services(environ)
    services.close()  # nothing built: nothing to close, no database created
    assert not Path(environ["DATABASE_URL"].removeprefix("sqlite:///")).exists()
    services = build_services(environ)
    services.build()
    services.start()
    dispatcher = services.dispatcher
    assert dispatcher.running
    services.close()
    assert not dispatcher.running
    services.close()  # idempotent


def test_check_opens_no_metrics(environ: dict[str, str]) -> None:
    """``bridge serve`` checks in the gunicorn master, before PROMETHEUS_MULTIPROC_DIR is set:
    the check must not build the metrics (which import prometheus_client)."""
    with build_services(environ) as services:
        services.check()
        assert "metrics" not in vars(services)
        assert isinstance(services, Services)


def test_a_worker_counts_its_attempts_in_the_web_apps_metrics(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    """A web process that does not dispatch and a ``bridge worker`` on one host share
    PROMETHEUS_MULTIPROC_DIR: the web's /metrics shows the worker's attempts."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    token = "metrics-token-0123456789"
    env = {
        **environ,
        "PATH": os.environ["PATH"],
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "1",
        "BRIDGE_DISPATCHER": "0",
        "BRIDGE_METRICS_TOKEN": token,
        "BRIDGE_POLL_INTERVAL": "0.2s",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    web = Server(env, tmp_path / "web.log").start()
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bridge", "worker"], env=env, stdout=log, stderr=log
        )
    try:
        body = (SAMPLES / "appstoreconnect" / "build-upload-complete.json").read_bytes()
        assert web.post("/webhooks/ios", body, signed(body))[0] == 202
        scraped = ""
        deadline = time.monotonic() + 15
        while 'bridge_delivery_attempts_total{outcome="dry_run"} 1.0' not in scraped:
            assert time.monotonic() < deadline, scraped + (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
            request = urllib.request.Request(
                f"{web.url}/metrics", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=5) as answer:
                scraped = answer.read().decode()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        web.stop()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
