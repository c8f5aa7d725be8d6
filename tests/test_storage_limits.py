"""What one credential holder can store: a source's ``limit:`` (events a minute, MiB a day)
answered 429 with Retry-After through a real ``bridge serve``; unrouted events pruned sooner
(BRIDGE_UNROUTED_RETENTION) on both backends; the database's size in /metrics and in a log
line past BRIDGE_DB_SIZE_WARNING."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from bridge import create_app
from bridge.config import Settings
from bridge.delivery.retention import housekeeping
from bridge.events import Event
from bridge.store import AttemptResult, Store
from tests.support.app import bridge
from tests.support.samples import ASC_SECRET, PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: "${ASC_SECRET}"
    limit: {events_per_minute: 3}
  beta:
    provider: pgyer
    token: "${PGYER_TOKEN}"
    limit: {mib_per_day: 1}
  other:
    provider: appstoreconnect
    secret: "${ASC_SECRET}"
routes: []
"""


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    routes = tmp_path / "limited.yaml"
    routes.write_text(ROUTES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update({"PORT": str(free_port()), "WEB_CONCURRENCY": "1", "BRIDGE_ROUTES": str(routes)})
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code, dict(exc.headers)


def asc_event(event_id: str) -> bytes:
    body = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    body["data"]["id"] = event_id
    return json.dumps(body).encode()


def stored_ids(environ: dict[str, str]) -> list[str]:
    path = environ["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        ids = [row[0] for row in db.execute("SELECT event_id FROM events ORDER BY pk")]
    db.close()
    return ids


@pytest.mark.server
def test_events_per_minute_past_the_limit_get_429_and_are_not_stored(
    server: Server, environ: dict[str, str]
) -> None:
    for i in range(3):
        body = asc_event(f"limited-{i}")
        assert post(f"{server.url}/webhooks/ios", body, signed(body, ASC_SECRET))[0] == 202
    body = asc_event("limited-3")
    status, headers = post(f"{server.url}/webhooks/ios", body, signed(body, ASC_SECRET))
    assert status == 429
    assert 0 < int(headers["Retry-After"]) <= 60
    unlimited = asc_event("unlimited")  # another source is not affected
    assert post(f"{server.url}/webhooks/other", unlimited, signed(unlimited))[0] == 202
    server.stop()
    assert "limited-3" not in stored_ids(environ)
    assert server.log.read_text().count("source ios is over its limit (3 events a minute)") == 1


@pytest.mark.server
def test_bytes_per_day_past_the_limit_get_429(server: Server) -> None:
    url = f"{server.url}/webhooks/beta?token={PGYER_TOKEN}"
    headers = {"Content-Type": "application/json"}
    for i in range(3):
        body = json.loads(sample("pgyer/update-version.json"))
        body.update(buildKey=f"key-{i}", pad="x" * 300_000)
        assert post(url, json.dumps(body).encode(), headers)[0] == 202  # 0.9 MiB so far
    body = json.loads(sample("pgyer/update-version.json"))
    body.update(buildKey="key-3", pad="x" * 300_000)
    status, answer = post(url, json.dumps(body).encode(), headers)
    assert status == 429 and int(answer["Retry-After"]) > 3600  # the day's window


def record(store: Store, event_id: str, routes: list[str], at: float) -> None:
    event = Event(
        "ios", "appstoreconnect", "buildUploadStateUpdated", event_id, None, "X", payload={}
    )
    store.record_event(event, b"{}", routes, now=at)


def test_unrouted_events_are_pruned_sooner(store: Store) -> None:
    day = 86400.0
    now = 100 * day
    record(store, "unrouted-old", [], now - 8 * day)
    record(store, "unrouted-new", [], now - 6 * day)
    record(store, "routed-old", ["build-complete"], now - 8 * day)
    [claim] = store.claim_due(owner="t", now=now - 8 * day, lease=60, limit=10)
    done = AttemptResult("delivered", started_at=now - 8 * day, duration_ms=1.0, status=204)
    assert store.finish(claim.delivery_id, owner="t", result=done)  # finished, routed: kept
    record(store, "routed-pending", ["build-complete"], now - 8 * day)  # never pruned
    settings = Settings(unrouted_retention=7 * day, db_size_warning=None)
    assert housekeeping(store, settings, now) == 1
    remaining = {e.event_id for e in store.recent_events(limit=10)}
    assert remaining == {"unrouted-new", "routed-old", "routed-pending"}
    off = Settings(unrouted_retention=None, db_size_warning=None)
    assert housekeeping(store, off, now + 30 * day) == 0


def test_a_database_past_the_size_warning_is_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "bridge.delivery.retention"):
        housekeeping(store, Settings(unrouted_retention=None, db_size_warning=None), 0.0)
        assert not caplog.records
        housekeeping(store, Settings(unrouted_retention=None, db_size_warning=1), 0.0)
    [line] = caplog.records
    assert "more than BRIDGE_DB_SIZE_WARNING" in line.getMessage()


def test_the_database_size_is_a_gauge(environ: dict[str, str]) -> None:
    app = create_app(environ={**environ, "BRIDGE_METRICS_TOKEN": "metrics-token-0123456789"})
    try:
        client: FlaskClient = app.test_client()
        text = client.get(
            "/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"}
        ).get_data(as_text=True)
    finally:
        bridge(app).close()
    [line] = [x for x in text.splitlines() if x.startswith("bridge_store_size_bytes ")]
    assert float(line.split()[1]) > 0
