"""`bridge worker` (the Procfile's ``worker`` process) as a real process: it delivers what
the web process stored, catches up with App Store Connect's delivery log when the reconcile
job is on, stops cleanly on SIGTERM, and refuses a configuration it could not serve."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.asc import asc_environ
from tests.support.samples import ASC_SECRET, sample, signed
from tests.support.servers import Worker, process_env

pytestmark = pytest.mark.server
GITHUB_TOKEN = "ghp_worker_token_never_logged"
BUILD = sample("appstoreconnect/build-upload-complete.json")
BUILD_ID = "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"

RECONCILED = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
    webhook_id: ${IOS_WEBHOOK}
routes:
  - name: build-complete
    event: buildUploadStateUpdated
    to: COMPLETE
    dispatch: {repository: acme/ios, event_type: asc-build-complete}
"""


def test_the_worker_delivers_what_the_web_process_stored(
    client: FlaskClient, environ: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Intake in one process (BRIDGE_DISPATCHER=0 on web), sending in the other."""
    assert client.post("/webhooks/ios", data=BUILD, headers=signed(BUILD)).status_code == 202
    env = process_env(
        environ,
        BRIDGE_DRY_RUN="0",
        GITHUB_TOKEN=GITHUB_TOKEN,
        GITHUB_API_URL=fake_github.url,
        BRIDGE_POLL_INTERVAL="0.2s",
        LOG_LEVEL="DEBUG",
    )
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        [dispatch] = fake_github.wait_for_dispatches(1, timeout=20)
    finally:
        status = worker.stop()
    assert status == 0
    assert dispatch.json["event_type"] == "asc-build-complete"
    assert dispatch.json["client_payload"]["event_id"] == BUILD_ID
    assert dispatch.header("authorization") == f"token {GITHUB_TOKEN}"
    log = worker.log.read_text()
    assert f"dispatches are sent to {fake_github.url}" in log
    assert GITHUB_TOKEN not in log
    assert "Traceback" not in log


def test_the_worker_recovers_an_event_apple_failed_to_deliver(
    environ: dict[str, str],
    fake_github: FakeGitHub,
    fake_asc: FakeAppStoreConnect,
    asc_key: AscKey,
    tmp_path: Path,
) -> None:
    hook = fake_asc.add_webhook("1234567890", url="https://bridge.example/webhooks/ios")
    fake_asc.add_delivery(hook, BUILD, created=datetime.now(UTC) - timedelta(minutes=5))
    routes = tmp_path / "reconciled.yaml"
    routes.write_text(RECONCILED)
    env = process_env(
        environ,
        **asc_environ(fake_asc, asc_key),
        BRIDGE_ROUTES=str(routes),
        IOS_WEBHOOK=hook,
        BRIDGE_RECONCILE_INTERVAL="1h",
        BRIDGE_DRY_RUN="0",
        GITHUB_TOKEN=GITHUB_TOKEN,
        GITHUB_API_URL=fake_github.url,
        BRIDGE_POLL_INTERVAL="0.2s",
    )
    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        [dispatch] = fake_github.wait_for_dispatches(1, timeout=20)
    finally:
        status = worker.stop()
    assert status == 0
    assert dispatch.json["client_payload"]["event_id"] == BUILD_ID
    assert fake_asc.requests_to(f"/v1/webhooks/{hook}/deliveries")
    log = worker.log.read_text()
    assert asc_key.private_pem.splitlines()[1] not in log
    assert ASC_SECRET not in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"BRIDGE_DRY_RUN": "0"}, "no credentials are set"),
        ({"BRIDGE_RECONCILE_INTERVAL": "1h"}, "the App Store Connect API key is not configured"),
        ({"DATABASE_URL": "mysql://db/bridge"}, "DATABASE_URL"),
    ],
)
def test_the_worker_refuses_a_configuration_it_could_not_serve(
    environ: dict[str, str], change: dict[str, str], message: str
) -> None:
    env = process_env(environ, **change)
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "worker"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
