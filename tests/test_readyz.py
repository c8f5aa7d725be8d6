"""``GET /readyz``: the store answers, routes.yaml is loaded, the dispatcher runs."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from tests.support.app import bridge


def test_ready(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready"})


def test_needs_no_token(environ: dict[str, str]) -> None:
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": "some-admin-token-123"})
    assert app.test_client().get("/readyz").status_code == 200
    bridge(app).store.close()


def test_a_dead_dispatcher_is_not_ready(environ: dict[str, str]) -> None:
    app = create_app(environ={**environ, "BRIDGE_DISPATCHER": "1"})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    bridge(app).dispatcher.stop()
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (
        503,
        {"status": "unavailable", "failed": ["dispatcher"]},
    )
    bridge(app).store.close()


def test_an_unreachable_store_is_not_ready(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    bridge(app).store.close()
    for name in ("bridge.db", "bridge.db-wal", "bridge.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "bridge.db").mkdir()
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()["failed"]) == (503, ["store"])
