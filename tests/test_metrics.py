"""``/metrics``: who may scrape it, and what it says after real traffic, parsed with
prometheus_client's own parser. In-process through the Flask client, then a real
``bridge serve`` with two gunicorn workers whose counters must add up (multiprocess mode)."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.app import bridge, close_app, make_app
from tests.support.metrics import Samples, parse, value
from tests.support.samples import PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port

METRICS_TOKEN = "metrics-token-0123456789"
ADMIN_TOKEN = "admin-token-0123456789"
BUILD = sample("appstoreconnect/build-upload-complete.json")
READY = sample("appstoreconnect/app-version-ready-for-distribution.json")
REJECTED = sample("appstoreconnect/app-version-rejected.json")


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, BRIDGE_METRICS_TOKEN=METRICS_TOKEN, BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN)
    yield app
    close_app(app)


def scrape(client: FlaskClient, token: str = METRICS_TOKEN) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return parse(response.text)


def test_metrics_are_off_without_any_token(client: FlaskClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer x"})
    assert response.status_code == 404
    assert "BRIDGE_METRICS_TOKEN" in response.get_json()["error"]


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        (f"Basic {METRICS_TOKEN}", 401),
        (f"Bearer {METRICS_TOKEN}", 200),
        (f"Bearer {ADMIN_TOKEN}", 200),
    ],
)
def test_who_may_scrape(metered: Flask, header: str | None, status: int) -> None:
    headers = {"Authorization": header} if header else {}
    response = metered.test_client().get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert "Bearer" in response.headers["WWW-Authenticate"]


def test_the_metrics_token_opens_nothing_else(metered: Flask) -> None:
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    assert metered.test_client().get("/deliveries", headers=auth).status_code == 401


def test_exposition_after_traffic(metered: Flask) -> None:
    client = metered.test_client()
    for body in (BUILD, READY, REJECTED, BUILD):  # the last one is a redelivery
        client.post("/webhooks/ios", data=body, headers=signed(body))
    client.post("/webhooks/ios", data=BUILD, headers={"X-Apple-Signature": "hmacsha256=00"})
    client.post("/webhooks/beta?token=wrong", data=b"{}")
    client.post(f"/webhooks/beta?token={PGYER_TOKEN}", data=b"not json")
    client.post("/webhooks/<script>", data=b"{}")  # an unknown source never becomes a label
    bridge(metered).dispatcher.run_once()  # 3 dry runs, 1 failed (the rejected route)
    pending = BUILD.replace(b"0b9a7c1e", b"ffffffff")
    client.post("/webhooks/ios", data=pending, headers=signed(pending))  # left pending

    m = scrape(client)
    requests = "bridge_webhook_requests_total"
    assert value(m, requests, source="ios", status="202") == 4
    assert value(m, requests, source="ios", status="200") == 1
    assert value(m, requests, source="ios", status="401") == 1
    assert value(m, requests, source="beta", status="401") == 1
    assert value(m, requests, source="beta", status="400") == 1
    assert value(m, requests, source="unknown", status="404") == 1
    assert not any("script" in str(labels) for _, labels in m)
    failures = "bridge_webhook_signature_failures_total"
    assert (value(m, failures, source="ios"), value(m, failures, source="beta")) == (1, 1)
    events = "bridge_events_total"
    assert value(m, events, source="ios", type="buildUploadStateUpdated") == 2
    assert value(m, events, source="ios", type="appStoreVersionAppVersionStateUpdated") == 2
    assert value(m, "bridge_delivery_attempts_total", outcome="dry_run") == 3
    assert value(m, "bridge_delivery_attempts_total", outcome="failed") == 1
    histogram = "bridge_delivery_attempt_duration_seconds"
    assert value(m, f"{histogram}_count", outcome="dry_run") == 3
    assert value(m, f"{histogram}_bucket", outcome="dry_run", le="+Inf") == 3
    assert 0 < value(m, f"{histogram}_sum", outcome="failed") < 5
    for state, count in {"pending": 1, "dry_run": 3, "failed": 1, "delivered": 0}.items():
        assert value(m, "bridge_deliveries", state=state) == count
    assert value(m, "bridge_outbox_depth") == 1
    assert 0 <= value(m, "bridge_outbox_oldest_pending_age_seconds") < 60
    assert value(m, "bridge_store_up") == 1
    assert value(m, "bridge_info", version="0.1.0") == 1


def test_a_store_outage_is_a_gauge_not_a_failed_scrape(metered: Flask, tmp_path: Path) -> None:
    bridge(metered).store.close()
    for name in ("bridge.db", "bridge.db-wal", "bridge.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "bridge.db").mkdir()
    m = scrape(metered.test_client())
    assert value(m, "bridge_store_up") == 0
    assert ("bridge_outbox_depth", ()) not in m


@pytest.mark.server
def test_workers_add_up_under_gunicorn(environ: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PROMETHEUS_"))}
    env.update(environ)
    env.update({
        "PORT": str(free_port()), "WEB_CONCURRENCY": "2", "LOG_FORMAT": "json",
        "BRIDGE_METRICS_TOKEN": METRICS_TOKEN, "BRIDGE_DISPATCHER": "1",
    })  # fmt: skip
    server = Server(env, tmp_path / "server.log").start()
    try:
        for n in range(24):
            body = json.dumps({"data": {"type": "webhookPingCreated", "id": f"p{n}"}}).encode()
            assert server.post("/webhooks/ios", body, signed(body))[0] == 202
        for _ in range(6):
            assert server.post("/webhooks/ios", b"{}", {"X-Apple-Signature": "x"})[0] == 401
        scrapes = []
        for _ in range(12):  # answered by either worker: each must show both workers' counts
            request = urllib.request.Request(
                f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            with urllib.request.urlopen(request, timeout=10) as r:
                scrapes.append(parse(r.read().decode()))
            time.sleep(0.02)
    finally:
        server.stop()
    for m in scrapes:
        requests = "bridge_webhook_requests_total"
        assert value(m, requests, source="ios", status="202") == 24
        assert value(m, requests, source="ios", status="401") == 6
        assert value(m, "bridge_events_total", source="ios", type="webhookPingCreated") == 24
    lines = (tmp_path / "server.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # LOG_FORMAT=json: every line is JSON
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert {r["path"] for r in access} >= {"/webhooks/ios", "/metrics"}
    assert {r["status"] for r in access} >= {202, 401, 200}
    assert METRICS_TOKEN not in "\n".join(lines)
