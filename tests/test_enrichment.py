"""App Store Connect enrichment, end to end over real HTTP: the dispatcher fetches the event's
resource from the fake App Store Connect (which verifies the ES256 token), and the fake GitHub
receives the dispatch with ``details``. The clock is injected so retries need no waiting."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from bridge import create_app
from bridge.appstoreconnect.details import SUMMARY_BYTES, summary
from bridge.errors import ConfigError
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesError
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect, generate_asc_key
from tests.fakes.github import FakeGitHub
from tests.support.asc import asc_client_for
from tests.support.dispatcher import DispatcherHarness
from tests.support.samples import ASC_SECRET, sample, signed
from tests.support.servers import Server, free_port

FAILED = "appstoreconnect/build-upload-failed.json"
COMPLETE = "appstoreconnect/build-upload-complete.json"
READY = "appstoreconnect/app-version-ready-for-distribution.json"
PING = "appstoreconnect/ping.json"
FAILED_UPLOAD = "/v1/buildUploads/9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
VERSION = "/v1/appStoreVersions/7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
    enrich: true
  plain:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
routes:
  - name: upload-failed
    source: ios
    event: buildUploadStateUpdated
    to: FAILED
    dispatch:
      repository: acme/ios
      event_type: asc-build-failed
  - name: upload-complete
    source: ios
    event: buildUploadStateUpdated
    to: COMPLETE
    dispatch:
      repository: acme/ios
      event_type: asc-build-complete
  - name: version-live
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      event_type: asc-version-live
  - name: version-live-tag
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      workflow: tag.yml
      ref: main
      inputs:
        version: "{{ details.versionString }}"
        build: "{{ details.build.version }}"
        summary: "{{ summary.version }} ({{ summary.build_number }})"
  - name: plain-ready
    source: plain
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      event_type: plain-version-live
  - name: plain-enriched
    source: plain
    event: buildUploadStateUpdated
    enrich: true
    dispatch:
      repository: acme/ios
      event_type: plain-build
  - name: ping
    source: ios
    event: webhookPingCreated
    dispatch:
      repository: acme/ios
      event_type: asc-ping
"""


class Harness(DispatcherHarness):
    """ROUTES above, a client of the fake App Store Connect signing with its key."""

    def __init__(self, tmp_path: Path, github: FakeGitHub, asc: FakeAppStoreConnect) -> None:
        path = tmp_path / "routes.yaml"
        path.write_text(ROUTES)
        routes = load_routes(path, {"ASC_SECRET": ASC_SECRET})
        assert asc.key is not None
        super().__init__(
            tmp_path / "bridge.db", routes, github.url, asc=asc_client_for(asc, asc.key)
        )


@pytest.fixture
def harness(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> Iterator[Harness]:
    fake_asc.load_samples()
    h = Harness(tmp_path, fake_github, fake_asc)
    yield h
    h.close()


def payload_of(request: object) -> dict[str, Any]:
    body = getattr(request, "json", None)
    assert isinstance(body, dict)
    client_payload = body["client_payload"]
    assert isinstance(client_payload, dict)
    return client_payload


def test_a_failed_upload_reaches_github_with_apple_error_codes(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    harness.receive(FAILED)
    assert harness.dispatcher.run_once() == 1
    [dispatch] = fake_github.dispatches()
    details = payload_of(dispatch)["details"]
    assert details == {
        "version": "1.101.0",
        "build_number": "3",
        "platform": "IOS",
        "state": "FAILED",
        "errors": [
            {
                "code": "90683",
                "description": (
                    "Missing purpose string in Info.plist. The Info.plist file for the “My.app” "
                    "bundle should contain a NSMicrophoneUsageDescription key with a user-facing "
                    "purpose string explaining clearly and completely why your app needs the data."
                ),
            }
        ],
        "warnings": [],
        "fetched_at": "1970-01-12T13:46:40Z",  # the harness's clock
        "state_changed_since_event": False,
    }
    assert [r.path for r in fake_asc.requests] == [FAILED_UPLOAD]
    assert fake_asc.auth_failures == []
    assert len(payload_of(dispatch)) == 10  # GitHub's limit, with the `bridge` key


def test_a_live_version_carries_its_version_string_and_build_number_fetched_once(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    event_id = harness.receive(READY)
    assert harness.dispatcher.run_once() == 2
    by_path = {r.path: r for r in fake_github.dispatches()}
    standard = payload_of(by_path["/repos/acme/ios/dispatches"])
    assert standard["details"] == {
        "version": "1.101.0",
        "build_number": "42",
        "platform": "IOS",
        "state": "READY_FOR_DISTRIBUTION",
        "fetched_at": "1970-01-12T13:46:40Z",
        "state_changed_since_event": False,
    }
    workflow = by_path["/repos/acme/ios/actions/workflows/tag.yml/dispatches"].json
    assert workflow["inputs"] == {"version": "1.101.0", "build": "42", "summary": "1.101.0 (42)"}
    # One event, two routes: the resource and its build were fetched once, and kept.
    assert sorted(r.path for r in fake_asc.requests) == [VERSION, f"{VERSION}/build"]
    stored = harness.store.details("ios", event_id)
    assert stored is not None and stored.error is None and stored.data is not None
    assert stored.data["attributes"]["versionString"] == "1.101.0"


def test_a_url_in_the_payload_is_never_followed(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    """Only ASC_API_URL gets the bearer token: the payload's links.self points elsewhere."""
    with HTTPServer(host="127.0.0.1") as elsewhere:
        elsewhere.expect_request("/v1/buildUploads/9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")
        body = json.loads(sample(FAILED))
        links = body["data"]["relationships"]["instance"]["links"]
        links["self"] = elsewhere.url_for(FAILED_UPLOAD)
        harness.receive(FAILED, body=json.dumps(body).encode())
        assert harness.dispatcher.run_once() == 1
        assert elsewhere.log == []
    assert [r.path for r in fake_asc.requests] == [FAILED_UPLOAD]
    assert payload_of(fake_github.dispatches()[0])["details"]["errors"][0]["code"] == "90683"


def test_an_instance_id_that_is_not_an_id_is_not_requested(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    body = json.loads(sample(FAILED))
    body["data"]["relationships"]["instance"]["data"]["id"] = "../../v1/apps"
    event_id = harness.receive(FAILED, body=json.dumps(body).encode())
    assert harness.dispatcher.run_once() == 1
    assert fake_asc.requests == []
    assert payload_of(fake_github.dispatches()[0])["details"] is None
    stored = harness.store.details("ios", event_id)
    assert stored is not None and "not an App Store Connect resource id" in (stored.error or "")


def test_a_deleted_resource_is_delivered_without_details_and_says_why(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(404, match="buildUploads")
    event_id = harness.receive(FAILED)
    assert harness.dispatcher.run_once() == 1
    assert payload_of(fake_github.dispatches()[0])["details"] is None
    [delivery] = harness.deliveries()
    assert delivery.state == "delivered"
    stored = harness.store.details("ios", event_id)
    assert stored is not None and stored.data is None
    assert stored.error is not None and "404 NOT_FOUND" in stored.error


def test_a_refused_key_delivers_without_details_and_names_the_configuration(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.load_samples()
    h = Harness(tmp_path, fake_github, fake_asc)
    wrong = generate_asc_key(key_id=fake_asc.key.key_id if fake_asc.key else None)
    h.dispatcher.contexts.enricher.client = asc_client_for(fake_asc, wrong)
    try:
        event_id = h.receive(FAILED)
        assert h.dispatcher.run_once() == 1
        assert payload_of(fake_github.dispatches()[0])["details"] is None
        stored = h.store.details("ios", event_id)
        assert stored is not None and stored.error is not None
        assert "401" in stored.error and "ASC_KEY_ID" in stored.error
        assert fake_asc.auth_failures  # the fake really refused the token
    finally:
        h.close()


@pytest.mark.parametrize(
    ("status", "headers"), [(503, {}), (500, {}), (429, {"Retry-After": "120"})]
)
def test_a_transient_failure_delays_the_delivery_and_github_is_not_asked(
    harness: Harness,
    fake_github: FakeGitHub,
    fake_asc: FakeAppStoreConnect,
    status: int,
    headers: dict[str, str],
) -> None:
    fake_asc.enqueue(status, headers=headers, match="buildUploads", times=3)
    harness.receive(FAILED)
    for _ in range(3):
        assert harness.dispatcher.run_once() == 1
        [delivery] = harness.deliveries()
        assert delivery.state == "pending"
        assert delivery.last_error is not None
        assert delivery.last_error.startswith("App Store Connect details:")
        assert str(status) in delivery.last_error
        harness.clock.now = delivery.next_attempt_at
    assert fake_github.dispatches() == []
    assert not harness.dispatcher.in_outage  # App Store Connect failing is not a GitHub outage
    assert harness.dispatcher.run_once() == 1
    [delivery] = harness.deliveries()
    assert (delivery.state, delivery.attempts) == ("delivered", 4)
    assert payload_of(fake_github.dispatches()[0])["details"]["state"] == "FAILED"


def test_retry_after_from_app_store_connect_sets_the_next_attempt(
    harness: Harness, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(429, headers={"Retry-After": "120"}, match="buildUploads")
    harness.receive(FAILED)
    harness.dispatcher.run_once()
    [delivery] = harness.deliveries()
    assert delivery.next_attempt_at == pytest.approx(harness.clock.now + 120, abs=1)


def test_a_rate_limit_holds_every_event_not_just_the_one_that_hit_it(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    """Apple's limit is per key and hour: after a 429 with Retry-After, no delivery asks
    App Store Connect again until that time has passed."""
    fake_asc.enqueue(429, headers={"Retry-After": "120"}, match="buildUploads")
    harness.receive(FAILED)
    harness.dispatcher.run_once()
    harness.clock.now += 30
    harness.receive(COMPLETE)
    assert harness.dispatcher.run_once() == 1
    waiting = next(d for d in harness.deliveries() if d.route == "upload-complete")
    assert waiting.state == "pending"
    assert "asked to wait 90 s more" in (waiting.last_error or "")
    assert waiting.next_attempt_at == pytest.approx(harness.clock.now + 90, abs=1)
    assert len(fake_asc.requests) == 1  # only the request that was answered 429
    harness.clock.now += 91
    sent = 0
    for _ in range(4):  # both are backlog by now: paced, one per claim (bridge.github_limits)
        sent += harness.dispatcher.run_once()
        harness.clock.now += 1.2
    assert sent == 2
    assert {d.state for d in harness.deliveries()} == {"delivered"}
    assert len(fake_github.dispatches()) == 2


def test_a_timeout_is_transient(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    assert fake_asc.key is not None
    harness.dispatcher.contexts.enricher.client = asc_client_for(
        fake_asc, fake_asc.key, timeout=0.3
    )
    fake_asc.enqueue(delay=1.0, match="buildUploads")
    harness.receive(FAILED)
    harness.dispatcher.run_once()
    [delivery] = harness.deliveries()
    assert delivery.state == "pending"
    assert "no answer within 0.3 s" in (delivery.last_error or "")


def test_sources_without_enrich_are_not_enriched_and_routes_can_ask(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    harness.receive(READY, source="plain")
    harness.receive(FAILED, source="plain")
    assert harness.dispatcher.run_once() == 2
    by_type = {r.json["event_type"]: payload_of(r) for r in fake_github.dispatches()}
    assert "details" not in by_type["plain-version-live"]  # no enrichment, no review known
    assert by_type["plain-build"]["details"]["build_number"] == "3"  # the route's enrich: true
    assert [r.path for r in fake_asc.requests] == [FAILED_UPLOAD]


def test_an_event_about_no_resource_sends_null_details(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    harness.receive(PING)
    assert harness.dispatcher.run_once() == 1
    assert payload_of(fake_github.dispatches()[0])["details"] is None
    assert fake_asc.requests == []


def test_a_full_review_cycle_reaches_github_with_its_times(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    """Apple's sample timestamps: waiting 03:41:21.179, in review 22:05:50.038, approved
    (PENDING_DEVELOPER_RELEASE) 22:34:18.785, live five days later."""
    for name in ("ready-for-review", "waiting-for-review", "in-review"):
        harness.receive(f"appstoreconnect/app-version-{name}.json")
    harness.receive("appstoreconnect/app-version-pending-developer-release.json")
    harness.receive(READY)
    harness.dispatcher.run_once()
    by_type = {r.json.get("event_type"): r for r in fake_github.dispatches()}
    review = payload_of(by_type["asc-version-live"])["details"]["review"]
    assert review == {
        "waiting_since": "2025-12-18T03:41:21Z",
        "in_review_at": "2025-12-18T22:05:50Z",
        "decided_at": "2025-12-18T22:34:18Z",
        "decision": "PENDING_DEVELOPER_RELEASE",
        "wait_seconds": 66269,  # 18 h 24 min 29 s
        "review_seconds": 1709,  # 28 min 29 s
        "total_seconds": 67978,
    }


def test_enrich_without_an_api_key_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    environ = {
        "BRIDGE_ROUTES": str(path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "BRIDGE_DRY_RUN": "1",
        "BRIDGE_DISPATCHER": "0",
    }
    with pytest.raises(ConfigError) as refused:
        create_app(environ=environ)
    message = str(refused.value)
    assert "enrich: true" in message
    assert "ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)" in message
    with pytest.raises(ConfigError, match="set ASC_ISSUER_ID"):
        create_app(environ={**environ, "ASC_KEY_ID": "ABC123DEFG"})


def test_a_configured_key_starts_the_app(tmp_path: Path, asc_key: AscKey) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    app = create_app(
        environ={
            "BRIDGE_ROUTES": str(path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
            "ASC_SECRET": ASC_SECRET,
            "BRIDGE_DRY_RUN": "1",
            "BRIDGE_DISPATCHER": "0",
            "ASC_KEY_ID": asc_key.key_id,
            "ASC_ISSUER_ID": asc_key.issuer_id,
            "ASC_PRIVATE_KEY": asc_key.private_pem.replace("\n", "\\n"),  # one-line form
        }
    )
    services = app.extensions["bridge"]
    client = services.dispatcher.contexts.enricher.client
    assert client is not None and client.key_id == asc_key.key_id
    services.close()


def test_enrich_is_refused_on_a_pgyer_source(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "sources:\n  beta:\n    provider: pgyer\n    token: t0123456789\n    enrich: true\n"
        "    webhook_id: abc\n"
    )
    with pytest.raises(RoutesError) as refused:
        load_routes(path, {})
    assert len(refused.value.problems) == 2
    assert all("is for appstoreconnect sources" in p for p in refused.value.problems)


def test_enrich_on_a_route_without_app_store_connect_events_warns(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "sources:\n  beta:\n    provider: pgyer\n    token: t0123456789\n"
        "routes:\n  - name: n\n    event: updateVersion\n    enrich: true\n"
        "    dispatch: {repository: a/b, event_type: x}\n"
    )
    config = load_routes(path, {})
    assert not config.uses_asc_api
    assert any("only App Store Connect events are enriched" in w for w in config.warnings)


@pytest.mark.server
def test_gunicorn_delivers_a_failed_upload_with_its_error_codes(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    """The production shape: `bridge serve`, the key from a .p8 file, real HTTP throughout."""
    fake_asc.load_samples()
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_", "ASC_"))}
    env.update(
        {
            "BRIDGE_ROUTES": str(routes),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
            "ASC_SECRET": ASC_SECRET,
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "2",
            "GITHUB_TOKEN": "ghp_enrichment_e2e",
            "GITHUB_API_URL": fake_github.url,
            "ASC_KEY_ID": asc_key.key_id,
            "ASC_ISSUER_ID": asc_key.issuer_id,
            "ASC_PRIVATE_KEY_PATH": str(asc_key.write_p8(tmp_path)),
            "ASC_API_URL": fake_asc.url,
            "BRIDGE_POLL_INTERVAL": "0.5s",
            "LOG_LEVEL": "DEBUG",
        }
    )
    server = Server(env, tmp_path / "server.log").start()
    try:
        body = sample(FAILED)
        status, answer = server.post("/webhooks/ios", body, signed(body))
        assert (status, answer["routes"]) == (202, ["upload-failed"])
        [dispatch] = fake_github.wait_for_dispatches(1, timeout=20)
    finally:
        server.stop()
    details = payload_of(dispatch)["details"]
    assert details["errors"][0]["code"] == "90683"
    assert (details["version"], details["build_number"]) == ("1.101.0", "3")
    log = (tmp_path / "server.log").read_text()
    assert fake_asc.tokens and not any(token in log for token in fake_asc.tokens)
    assert "BEGIN PRIVATE KEY" not in log


def test_two_processes_on_one_event_send_the_same_details(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    """Two dispatchers (as two gunicorn workers) on one database each claim one route of the
    same event and fetch at the same moment: the first answer stored is what both send."""
    fake_asc.load_samples()
    fake_asc.enqueue(delay=0.5, match="appStoreVersions/[^/]+$")  # the first fetch is slow,
    changed = json.loads(sample("appstoreconnect/api-appStoreVersions.json"))
    changed["data"]["attributes"]["versionString"] = "1.101.1"  # and has an older answer
    fake_asc.enqueue(200, body=changed, match="appStoreVersions/[^/]+$")
    pair = [Harness(tmp_path, fake_github, fake_asc) for _ in range(2)]
    try:
        for h in pair:
            h.dispatcher.settings = h.dispatcher.settings.with_overrides(
                {"dispatch_concurrency": 1}  # one claim each
            )
        pair[0].receive(READY)
        threads = [threading.Thread(target=h.dispatcher.run_once) for h in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        dispatches = fake_github.dispatches()
        assert len(dispatches) == 2
        standard = next(payload_of(r) for r in dispatches if "client_payload" in r.json)
        workflow = next(r.json["inputs"] for r in dispatches if "inputs" in r.json)
        assert standard["details"]["version"] == workflow["version"] == "1.101.1"
        assert len([r for r in fake_asc.requests if r.path == VERSION]) == 2  # both asked
    finally:
        for h in pair:
            h.close()


def test_past_the_retry_horizon_the_event_is_delivered_without_details(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    """App Store Connect down for a day must not cost the dispatch itself."""
    fake_asc.enqueue(503, match="buildUploads", times=100)
    event_id = harness.receive(FAILED)
    attempts = 0
    while not fake_github.dispatches():
        assert harness.dispatcher.run_once() == 1
        attempts += 1
        [delivery] = harness.deliveries()
        harness.clock.now = max(harness.clock.now, delivery.next_attempt_at)
        assert attempts < 50
    [delivery] = harness.deliveries()
    assert delivery.state == "delivered"
    assert harness.clock.now - 1_000_000.0 <= 24 * 3600  # within the horizon
    assert payload_of(fake_github.dispatches()[0])["details"] is None
    stored = harness.store.details("ios", event_id)
    assert stored is not None and "503" in (stored.error or "")


def test_an_unexpected_error_while_preparing_retries_the_delivery(
    harness: Harness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(200, body="[1, 2]", match="buildUploads")  # JSON, but not a document
    fake_asc.enqueue(200, body={"data": "not a resource"}, match="buildUploads")
    harness.receive(FAILED)
    harness.dispatcher.run_once()
    [delivery] = harness.deliveries()
    assert delivery.state == "pending" and "not a JSON object" in (delivery.last_error or "")
    harness.clock.now = delivery.next_attempt_at
    harness.dispatcher.run_once()
    [delivery] = harness.deliveries()
    assert delivery.state == "delivered"  # a resource without attributes: sent with what there is


@pytest.mark.parametrize("kind", ["buildUploads", "betaFeedbackScreenshotSubmissions"])
def test_details_stay_within_githubs_limit_whatever_apple_returns(kind: str) -> None:
    long = "x" * 5000
    issues = [{"code": f"9{n:04d}", "description": long} for n in range(200)]
    found = {
        "type": kind,
        "attributes": {
            "state": {"state": "FAILED", "errors": issues, "warnings": issues},
            "comment": long,
            "screenshots": [{"url": f"https://example.com/{long}/{n}"} for n in range(50)],
        },
        "build": {"version": "3"},
    }
    details = summary(found)
    assert len(json.dumps(details, ensure_ascii=False).encode()) <= SUMMARY_BYTES
    listed = details.get("errors") or details.get("screenshots")
    assert listed  # cut short, not dropped, while it fits
    small = summary({"type": kind, "attributes": {"state": {"errors": issues[:1]}}})
    if kind == "buildUploads":
        assert small["errors"] == [{"code": "90000", "description": long[:1999] + "…"}]
