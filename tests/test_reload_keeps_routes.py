"""`kill -HUP` on a real gunicorn master (`bridge serve`): a routes.yaml with a problem keeps
the service running with the previous routes and logs why; a fixed file is then loaded by
the next reload. Workers are never taken down by a typo."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app import ROUTES_YAML
from tests.support.samples import ASC_OLD_SECRET, ASC_SECRET, PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port

NEW_ROUTE = """\
  - name: build-failed
    source: ios
    event: buildUploadStateUpdated
    to: FAILED
    dispatch:
      repository: acme/ios
      event_type: asc-build-failed
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_YAML)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(
        {
            "BRIDGE_ROUTES": str(routes),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
            "ASC_SECRET": ASC_SECRET,
            "ASC_OLD_SECRET": ASC_OLD_SECRET,
            "PGYER_TOKEN": PGYER_TOKEN,
            "BRIDGE_DRY_RUN": "1",
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    running = Server(env, tmp_path / "server.log").start()
    try:
        # /healthz answers once one worker is up: wait for both to have loaded routes.yaml
        # before a test edits it (a worker booting on a broken file halts gunicorn).
        deadline = time.monotonic() + 30
        while running.log.read_text().count(" web: ") < 2:
            assert time.monotonic() < deadline, running.log.read_text()
            time.sleep(0.05)
        yield running, routes
    finally:
        running.stop()


def hang_up(server: Server, until: str) -> str:
    """HUP the master; wait until the log has one more ``until`` and two more workers."""
    assert server.proc is not None
    before = server.log.read_text()
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = server.log.read_text()
        booted = text.count("Booting worker") >= before.count("Booting worker") + 2
        if text.count(until) > before.count(until) and booted:
            return text
        time.sleep(0.1)
    raise AssertionError(f"no {until!r} after HUP:\n{server.log.read_text()}")


def routes_of(server: Server, name: str) -> list[str]:
    body = sample(name)
    status, answer = server.post("/webhooks/ios", body, signed(body))
    assert status == 202, answer
    routes = answer["routes"]
    assert isinstance(routes, list)
    return [str(r) for r in routes]


def test_a_broken_routes_yaml_on_reload_keeps_the_previous_routes(
    server: tuple[Server, Path],
) -> None:
    running, routes = server
    routes.write_text(ROUTES_YAML.replace("    event: buildUploadStateUpdated\n", "    evnt: x\n"))
    log = hang_up(running, "the new workers keep the routes in use")
    assert "reload: " in log and "unknown key 'evnt'" in log
    time.sleep(1)  # the old workers stop, the new ones serve
    assert running.proc is not None and running.proc.poll() is None  # the master runs
    assert routes_of(running, "appstoreconnect/build-upload-complete.json") == ["build-complete"]
    assert "Traceback" not in running.log.read_text()

    routes.write_text(ROUTES_YAML.replace("routes:\n", "routes:\n" + NEW_ROUTE))
    hang_up(running, f"reload: {routes} loaded")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # until every worker is a new one
        if routes_of(running, "appstoreconnect/build-upload-failed.json") == ["build-failed"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(running.log.read_text())
