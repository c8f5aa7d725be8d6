"""What bridge says it would send is what it sends: the delivery log's preview, ``bridge
simulate``, the "Test a payload" page and the dispatcher's real request to GitHub, for every
shipped webhook sample, with one route that enriches and one that does not on the same event."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.cli import cli
from bridge.services import Services
from tests.fakes.appstoreconnect import FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.asc import asc_environ
from tests.support.samples import ASC_SECRET, PGYER_TOKEN, SAMPLES, signed

ADMIN = "admin-token-for-context-tests-0123456789"
ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
  beta:
    provider: pgyer
    token: ${PGYER_TOKEN}
routes:
  - name: standard
    event: "*"
    dispatch:
      repository: acme/app
      event_type: standard
  - name: enriched
    source: ios
    event: "*"
    enrich: true
    dispatch:
      repository: acme/app
      event_type: enriched
  - name: templated
    source: ios
    event: "*"
    enrich: true
    dispatch:
      repository: acme/app
      event_type: templated
      client_payload:
        state: "{{ event.new_state }}"
        version: "{{ details.versionString | default('') }}"
        build: "{{ summary.build_number | default('') }}"
        review: "{{ event.review | tojson }}"
  - name: any-source
    event: "*"
    dispatch:
      repository: acme/app
      event_type: any
      client_payload:
        type: "{{ event.type }}"
        id: "{{ event.id }}"
"""
# Webhook bodies only: api-*.json are App Store Connect API answers (served by the fake).
WEBHOOK_SAMPLES = sorted(
    [("ios", p) for p in (SAMPLES / "appstoreconnect").glob("*.json") if p.name[:4] != "api-"]
    + [("beta", p) for p in (SAMPLES / "pgyer").glob("*.json")]
)


@pytest.fixture
def app(tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect) -> Iterator[Flask]:
    fake_asc.load_samples()
    assert fake_asc.key is not None
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    env = {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "PGYER_TOKEN": PGYER_TOKEN,
        "GITHUB_TOKEN": "ghp_context_test",
        "GITHUB_API_URL": fake_github.url,
        **asc_environ(fake_asc, fake_asc.key),
        "BRIDGE_ADMIN_TOKEN": ADMIN,
        "BRIDGE_DISPATCHER": "0",  # the test sends, after looking at every preview
    }
    app = create_app(environ=env)
    app.config["TEST_ENV"] = env
    yield app
    app.extensions["bridge"].close()


def by_route(bodies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Request bodies keyed by route (every client_payload carries its route), with the
    delivery id left out: a body that is not stored has no delivery id yet."""
    keyed = {}
    for body in bodies:
        payload = json.loads(json.dumps(body))
        correlation = payload["client_payload"].pop("bridge")
        keyed[correlation["route"]] = payload
    return keyed


def pre_blocks(page: str, heading: str) -> list[dict[str, Any]]:
    pattern = heading + r".*?</h3>\s*<pre class=\"json\">(.*?)</pre>"
    return [json.loads(html.unescape(m)) for m in re.findall(pattern, page, re.S)]


def preview(client: FlaskClient, source: str, event_id: str) -> dict[str, dict[str, Any]]:
    page = client.get(f"/events/{source}/{event_id}", headers={"Authorization": f"Bearer {ADMIN}"})
    assert page.status_code == 200
    return by_route(pre_blocks(page.get_data(as_text=True), "Request it will send"))


def payload_tester_page(client: FlaskClient, source: str, body: bytes) -> dict[str, dict[str, Any]]:
    page = client.post(
        "/test-payload",
        data={"source": source, "body": body.decode()},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    bodies = re.findall(
        r"<p class=\"muted\">POST [^<]*</p>\s*<pre class=\"json\">(.*?)</pre>", text, re.S
    )
    return by_route([json.loads(html.unescape(b)) for b in bodies])


def simulate(app: Flask, source: str, path: Path) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["simulate", source, str(path)], env=app.config["TEST_ENV"])
    assert result.exit_code == 0, result.output
    return by_route([r["request"]["body"] for r in json.loads(result.output)["routes"]])


@pytest.mark.parametrize(("source", "path"), WEBHOOK_SAMPLES, ids=lambda v: getattr(v, "name", v))
def test_preview_simulate_tester_and_send_agree_for_every_sample(
    app: Flask, fake_github: FakeGitHub, source: str, path: Path
) -> None:
    client = app.test_client()
    body = path.read_bytes()
    if source == "ios":
        headers, query = signed(body), {}
    else:
        headers, query = {"Content-Type": "application/json"}, {"token": PGYER_TOKEN}
    answer = client.post(f"/webhooks/{source}", data=body, headers=headers, query_string=query)
    assert answer.status_code == 202
    event_id, routes = answer.json["event_id"], answer.json["routes"]  # type: ignore[index]

    shown = preview(client, source, event_id)
    simulated = simulate(app, source, path)
    tested = payload_tester_page(client, source, body)
    services: Services = app.extensions["bridge"]
    assert services.dispatcher.run_once() == len(routes)
    sent = by_route([r.json for r in fake_github.dispatches()])

    assert sorted(sent) == sorted(routes)
    assert shown == sent
    assert simulated == sent
    assert tested == sent
    if source == "ios" and "standard" in sent:
        # One event, two routes, only one enriching: the other carries no App Store details.
        assert set(sent["standard"]["client_payload"].get("details") or {}) <= {"review"}
        assert "details" in sent["enriched"]["client_payload"]


def test_the_preview_fetches_once_and_the_send_reuses_it(
    app: Flask, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    client = app.test_client()
    body = (SAMPLES / "appstoreconnect" / "build-upload-failed.json").read_bytes()
    event_id = client.post("/webhooks/ios", data=body, headers=signed(body)).json["event_id"]  # type: ignore[index]
    shown = preview(client, "ios", event_id)
    asked = len(fake_asc.requests)
    assert app.extensions["bridge"].dispatcher.run_once() == 4
    assert len(fake_asc.requests) == asked  # the details stored by the preview were reused
    sent = by_route([r.json for r in fake_github.dispatches()])
    assert shown == sent
    assert sent["enriched"]["client_payload"]["details"]["errors"]
