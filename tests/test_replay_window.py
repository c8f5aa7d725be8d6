"""``max_age:`` on an App Store Connect source: a signed delivery whose timestamp is older
than the window is refused (a captured delivery replayed after its event was pruned), a
fresh one is stored, one without a timestamp passes; off by default. Real requests through
the Flask client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from bridge import create_app
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesError
from tests.support.app import bridge
from tests.support.samples import sample, signed

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: "${ASC_SECRET}"
    max_age: 1h
  open:
    provider: appstoreconnect
    secret: "${ASC_SECRET}"
routes: []
"""


@pytest.fixture
def windowed(environ: dict[str, str], tmp_path: Path) -> Iterator[Flask]:
    routes = tmp_path / "window.yaml"
    routes.write_text(ROUTES)
    app = create_app(environ={**environ, "BRIDGE_ROUTES": str(routes)})
    yield app
    bridge(app).close()


def ping(event_id: str, timestamp: str | None) -> bytes:
    body = json.loads(sample("appstoreconnect/ping.json"))
    body["data"]["id"] = event_id
    if timestamp is None:
        del body["data"]["attributes"]["timestamp"]
    else:
        body["data"]["attributes"]["timestamp"] = timestamp
    return json.dumps(body).encode()


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def test_an_old_signed_delivery_is_refused(windowed: Flask) -> None:
    body = ping("replayed", iso(-timedelta(hours=2)))
    response = windowed.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code == 400
    assert "older than this source's max_age" in response.get_json()["error"]
    assert bridge(windowed).store.events_by_id("replayed") == []


@pytest.mark.parametrize(
    ("event_id", "timestamp", "status"),
    [
        ("fresh", iso(-timedelta(minutes=5)), 202),
        ("offset", (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), 202),
        ("no-timestamp", None, 202),
        ("unreadable", "yesterday", 400),
    ],
)
def test_fresh_missing_and_unreadable_timestamps(
    windowed: Flask, event_id: str, timestamp: str | None, status: int
) -> None:
    body = ping(event_id, timestamp)
    response = windowed.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code == status, response.get_json()


def test_off_by_default(windowed: Flask) -> None:
    body = ping("old-but-allowed", iso(-timedelta(days=30)))
    response = windowed.test_client().post("/webhooks/open", data=body, headers=signed(body))
    assert response.status_code == 202


def test_max_age_is_for_app_store_connect_sources(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "sources:\n  b:\n    provider: pgyer\n    token: t0123456789abcdef\n    max_age: 1h\n"
    )
    with pytest.raises(RoutesError, match="max_age"):
        load_routes(path, environ={})
