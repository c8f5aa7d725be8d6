"""``create_app`` as a deployment starts it: what it logs about routes.yaml, and what it
builds when there is nothing to send. Real requests through the Flask test client."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.app import bridge, close_app, make_app
from tests.support.samples import PGYER_TOKEN, sample

PGYER = sample("pgyer/update-version.json")

INTAKE_ONLY = """\
sources:
  beta: {provider: pgyer, token: "${PGYER_TOKEN}"}
"""

WARNED = """\
sources:
  beta: {provider: pgyer, token: "${PGYER_TOKEN}"}
routes:
  - name: enriched-pgyer
    event: updateVersion
    enrich: true
    dispatch: {repository: acme/android, event_type: build}
"""


def test_the_warnings_of_routes_yaml_are_logged_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    routes = tmp_path / "warned.yaml"
    routes.write_text(WARNED)
    with caplog.at_level(logging.WARNING, logger="bridge.app"):
        app = make_app(tmp_path, BRIDGE_ROUTES=str(routes))
    close_app(app)
    [record] = [r for r in caplog.records if r.name == "bridge.app"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("routes: ")
    assert "only App Store Connect events are enriched" in record.getMessage()


def test_without_routes_nor_credentials_the_app_starts_and_only_records(tmp_path: Path) -> None:
    """No route dispatches: no GitHub credentials are needed, even outside dry run."""
    routes = tmp_path / "intake-only.yaml"
    routes.write_text(INTAKE_ONLY)
    app = make_app(tmp_path, BRIDGE_ROUTES=str(routes), BRIDGE_DRY_RUN="0")
    try:
        assert bridge(app).dispatcher.sender is None
        response = app.test_client().post(f"/webhooks/beta?token={PGYER_TOKEN}", data=PGYER)
        assert response.status_code == 202
        assert response.get_json()["routes"] == []
        assert bridge(app).dispatcher.run_once() == 0
        [event] = bridge(app).store.recent_events(limit=10)
        assert (event.source, event.deliveries) == ("beta", ())
    finally:
        close_app(app)
