"""A payload's strings never become Prometheus label values: signed events with made-up or
huge types are counted as ``other``, so /metrics stays small whatever senders invent. Through
a real ``bridge serve`` (two gunicorn workers, multiprocess counters)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.providers import appstoreconnect, pgyer
from tests.support.samples import PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port

pytestmark = pytest.mark.server
METRICS_TOKEN = "metrics-token-for-label-tests-0123456789"
MADE_UP = 40


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update({"PORT": str(free_port()), "BRIDGE_METRICS_TOKEN": METRICS_TOKEN})
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def asc_event(event_id: str, event_type: str) -> bytes:
    body = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    body["data"]["id"] = event_id
    body["data"]["type"] = event_type
    return json.dumps(body).encode()


def pgyer_event(event_type: str, build_key: str) -> bytes:
    body = json.loads(sample("pgyer/update-version.json"))
    body["type"] = event_type
    body["buildKey"] = build_key
    return json.dumps(body).encode()


def scrape(server: Server) -> str:
    request = urllib.request.Request(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        text: str = r.read().decode()
        return text


def test_made_up_and_huge_event_types_are_counted_as_other(server: Server) -> None:
    made_up = [f"madeUpType{i}" for i in range(MADE_UP)] + ["x" * 100_000, "buildUpload\u202e"]
    for i, event_type in enumerate(made_up):
        body = asc_event(f"label-{i}", event_type)
        assert server.post("/webhooks/ios", body, signed(body))[0] == 202
    body = asc_event("label-known", "buildUploadStateUpdated")
    assert server.post("/webhooks/ios", body, signed(body))[0] == 202
    for i, event_type in enumerate(["updateVersion", "somethingNew", "y" * 5000]):
        body = pgyer_event(event_type, f"key-{i}")
        status, answer = server.post(f"/webhooks/beta?token={PGYER_TOKEN}", body)
        assert status == 202, answer

    text = scrape(server)
    counts = {
        (s.labels["source"], s.labels["type"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "bridge_events_total"
    }
    assert counts == {
        ("ios", "other"): len(made_up),
        ("ios", "buildUploadStateUpdated"): 1,
        ("beta", "updateVersion"): 1,
        ("beta", "other"): 2,
    }
    known = appstoreconnect.EVENT_TYPES | pgyer.EVENT_TYPES | {"other"}
    assert {kind for _, kind in counts} <= known
    assert len(text) < 20_000  # no payload string in it: a few KiB whatever was sent
