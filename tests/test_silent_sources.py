"""A source that used to send and went silent (``silent_after`` in routes.yaml) is reported on
``/readyz`` (a warning: the instance stays ready), the delivery log and ``/metrics``, all
read from the store; through the Flask client, on both store backends for the store part."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from bridge import create_app
from bridge.events import Event
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesError
from bridge.store import Store
from tests.support.app import bridge
from tests.support.metrics import parse, value
from tests.support.samples import ASC_SECRET, PGYER_TOKEN, sample, signed

ADMIN_TOKEN = "admin-token-0123456789"
ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
    silent_after: 2h
  beta:
    provider: pgyer
    token: ${PGYER_TOKEN}
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    app = create_app(
        environ={
            "BRIDGE_ROUTES": str(path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
            "ASC_SECRET": ASC_SECRET,
            "PGYER_TOKEN": PGYER_TOKEN,
            "BRIDGE_DRY_RUN": "1",
            "BRIDGE_DISPATCHER": "0",
            "BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN,
        }
    )
    yield app
    bridge(app).close()


def _seen(app: Flask) -> tuple[dict[str, object], float, str]:
    """(/readyz body, bridge_source_silent{source="ios"}, the delivery log's HTML)."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ready = client.get("/readyz")
    assert ready.status_code == 200  # silence never takes an instance out of rotation
    metrics = parse(client.get("/metrics", headers=auth).text)
    page = client.get("/deliveries", headers=auth).text
    return ready.get_json(), value(metrics, "bridge_source_silent", source="ios"), page


def test_a_fresh_deployment_is_not_silent_yet(app: Flask) -> None:
    ready, silent, page = _seen(app)
    assert ready == {"status": "ready"}
    assert silent == 0
    assert "Silent:" not in page


def test_a_source_that_never_sent_since_the_process_started(app: Flask) -> None:
    bridge(app).started_at = time.time() - 3 * 3600 - 60  # a process up for 3 hours
    ready, silent, page = _seen(app)
    assert ready == {
        "status": "ready",
        "warnings": ["source ios: no event received for 3h 1m (silent_after 2h)"],
    }
    assert silent == 1
    assert "Silent: source ios: no event received for 3h 1m (silent_after 2h)" in page


def test_a_source_that_stopped_sending_and_then_sends_again(app: Flask) -> None:
    services = bridge(app)
    services.started_at = time.time() - 10 * 86400
    old = Event("ios", "appstoreconnect", "webhookPingCreated", "old-ping")
    services.store.record_event(old, b"{}", [], now=time.time() - 5 * 3600)
    ready, silent, _ = _seen(app)
    assert ready["warnings"] == ["source ios: no event for 5h (silent_after 2h)"]
    assert silent == 1

    body = sample("appstoreconnect/ping.json")
    assert (
        app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    )
    ready, silent, page = _seen(app)
    assert ready == {"status": "ready"}
    assert silent == 0
    assert "Silent:" not in page


def test_silent_after_must_be_a_duration(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.replace("silent_after: 2h", "silent_after: two weeks"))
    with pytest.raises(RoutesError) as refused:
        load_routes(path, {"ASC_SECRET": "s", "PGYER_TOKEN": "t"})
    (problem,) = refused.value.problems
    assert problem.startswith(f"{path}:5: sources.ios.silent_after: ")


def test_last_received_at_per_source(store: Store) -> None:
    assert store.last_received_at("ios") is None
    for n, at in enumerate((100.0, 300.0, 200.0)):  # the newest stored counts, not the latest time
        store.record_event(Event("ios", "appstoreconnect", "t", f"e{n}"), b"{}", [], now=at)
    store.record_event(Event("beta", "pgyer", "updateVersion", "p"), b"{}", [], now=400.0)
    assert store.last_received_at("ios") == 200.0
    assert store.last_received_at("beta") == 400.0
    assert store.last_received_at("other") is None
