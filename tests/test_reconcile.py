"""`bridge asc reconcile` and the periodic ReconcileJob: events whose webhook delivery failed
are taken in from the fake App Store Connect's delivery log (real HTTP), once."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bridge import create_app
from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.reconcile import reconcile
from bridge.appstoreconnect.reconcile_job import ReconcileJob
from bridge.cli import cli
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.intake.ingest import ingest
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from bridge.store import Store, open_store
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect, generate_asc_key
from tests.fakes.github import FakeGitHub
from tests.support.asc import asc_client_for, asc_environ
from tests.support.samples import sample

APP = "1234567890"
BUILD = sample("appstoreconnect/build-upload-complete.json")
BUILD_ID = "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"
LIVE = sample("appstoreconnect/app-version-ready-for-distribution.json")
LIVE_ID = json.loads(LIVE)["data"]["id"]
PING = sample("appstoreconnect/ping.json")

ROUTES_YAML = """\
sources:
  ios:
    provider: appstoreconnect
    secret: test-asc-secret-0123456789
    webhook_id: ${IOS_WEBHOOK}
  mac:
    provider: appstoreconnect
    secret: test-asc-secret-0123456789
    webhook_id: ${MAC_WEBHOOK}
  watch:
    provider: appstoreconnect
    secret: test-asc-secret-0123456789
  beta:
    provider: pgyer
    token: test-pgyer-token-0123456789
routes:
  - name: build-complete
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
"""


@pytest.fixture
def ios(fake_asc: FakeAppStoreConnect) -> str:
    return fake_asc.add_webhook(APP, url="https://bridge.example/webhooks/ios")


@pytest.fixture
def mac(fake_asc: FakeAppStoreConnect) -> str:
    return fake_asc.add_webhook("555", url="https://bridge.example/webhooks/mac")


@pytest.fixture
def env(
    tmp_path: Path, fake_asc: FakeAppStoreConnect, asc_key: AscKey, ios: str, mac: str
) -> dict[str, str]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES_YAML)
    open_store(f"sqlite:///{tmp_path / 'bridge.db'}").close()  # (reconcile creates none)
    return {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "IOS_WEBHOOK": ios,
        "MAC_WEBHOOK": mac,
        **asc_environ(fake_asc, asc_key),
    }


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Store]:
    store = open_store(env["DATABASE_URL"])
    yield store
    store.close()


def run(env: Mapping[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(cli, ["asc", "reconcile", *args], env=env, catch_exceptions=False)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def build_event(event_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(BUILD)
    document["data"]["id"] = event_id
    return document


# -- the command --------------------------------------------------------------------------------


def test_a_missed_event_is_stored_once(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, mac: str, db: Store
) -> None:
    delivery = fake_asc.add_delivery(ios, BUILD, created=ago(hours=1))
    first = run(env)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0].startswith("failed deliveries since ")
    assert lines[1:] == [
        f"ios (webhook {ios}): 1 failed delivery, 1 recovered, 0 already known, 0 pings skipped",
        f"    recovered buildUploadStateUpdated {BUILD_ID} → build-complete  [delivery {delivery}]",
        f"mac (webhook {mac}): 0 failed deliveries, 0 recovered, 0 already known, 0 pings skipped",
        "watch: skipped — no `webhook_id` in routes.yaml; add the id shown by "
        "`bridge asc webhooks list --app APP_ID`",
        "a running bridge dispatches recovered events within its poll interval",
    ]
    second = run(env)
    assert second.exit_code == 0
    assert f"ios (webhook {ios}): 1 failed delivery, 0 recovered, 1 already known" in second.output
    assert f"    already known buildUploadStateUpdated {BUILD_ID}" in second.output
    assert "poll interval" not in second.output
    [event] = db.recent_events(limit=10)
    assert (event.source, event.event_id, event.new_state) == ("ios", BUILD_ID, "COMPLETE")
    assert [(d.route, d.state) for d in event.deliveries] == [("build-complete", "pending")]
    # the request is the one the contract names
    request = fake_asc.requests_to(f"/v1/webhooks/{ios}/deliveries")[0]
    assert request.args["filter[deliveryState]"] == "FAILED"
    assert request.args["include"] == "event"
    assert request.args["limit"] == "200"
    assert request.method == "GET"


def test_an_event_bridge_already_has_is_known(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    routes = load_routes(env["BRIDGE_ROUTES"], env)
    ingest(db, routes, "ios", BUILD, now=time.time())  # the webhook did arrive after all
    fake_asc.add_delivery(ios, BUILD)
    result = run(env, "--source", "ios")
    assert "1 failed delivery, 0 recovered, 1 already known" in result.output
    assert len(db.recent_events(limit=10)) == 1


def test_apple_retries_of_one_event_are_one_event(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    for minutes in (30, 20, 10):
        fake_asc.add_delivery(ios, BUILD, created=ago(minutes=minutes))
    fake_asc.add_delivery(ios, LIVE, state="SUCCEEDED")  # delivered: not looked at
    result = run(env, "--source", "ios")
    assert "3 failed deliveries, 1 recovered, 0 already known" in result.output
    assert result.output.count("recovered buildUploadStateUpdated") == 1
    assert [e.event_id for e in db.recent_events(limit=10)] == [BUILD_ID]


def test_pings_are_skipped(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    fake_asc.add_delivery(ios, PING)
    fake_asc.add_delivery(ios, LIVE)
    result = run(env, "--source", "ios")
    assert "2 failed deliveries, 1 recovered, 0 already known, 1 ping skipped" in result.output
    assert (
        f"recovered appStoreVersionAppVersionStateUpdated {LIVE_ID} → version-live" in result.output
    )
    assert [e.type for e in db.recent_events(limit=10)] == ["appStoreVersionAppVersionStateUpdated"]


def test_unreadable_payloads_are_reported(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    not_json = fake_asc.add_delivery(ios, "{not json", event_type="BUILD_UPLOAD_STATE_UPDATED")
    no_id = fake_asc.add_delivery(ios, {"data": {"type": "buildUploadStateUpdated"}})
    fake_asc.add_delivery(ios, BUILD)
    result = run(env, "--source", "ios", "--json")
    assert result.exit_code == 0
    [report] = json.loads(result.stdout)["sources"]
    assert report["failed_deliveries"] == 3
    assert [r["event_id"] for r in report["recovered"]] == [BUILD_ID]
    reasons = {u["delivery_id"]: u["reason"] for u in report["unreadable"]}
    assert set(reasons) == {not_json, no_id}
    assert "JSON" in reasons[not_json]
    assert "data.id" in reasons[no_id]
    text = run(env, "--source", "ios").output
    assert "2 unreadable" in text
    assert f"    unreadable delivery {no_id}: " in text
    assert len(db.recent_events(limit=10)) == 1


def test_since_defaults_to_the_window(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    fake_asc.add_delivery(ios, BUILD, created=ago(days=3))
    assert "0 failed deliveries" in run(env, "--source", "ios").output
    sent = fake_asc.requests_to("/deliveries")[0].args["filter[createdDateGreaterThanOrEqualTo]"]
    assert abs(datetime.fromisoformat(sent) - ago(hours=24)).total_seconds() < 60
    wider = run({**env, "BRIDGE_RECONCILE_WINDOW": "4d"}, "--source", "ios")
    assert "1 failed delivery, 1 recovered" in wider.output
    assert len(db.recent_events(limit=10)) == 1


@pytest.mark.parametrize(
    ("since", "found"),
    [("7d", 1), ("2d", 0), ("2020-01-01", 1), (datetime.now(UTC).date().isoformat(), 0)],
)
def test_since_option(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, since: str, found: int
) -> None:
    fake_asc.add_delivery(ios, BUILD, created=ago(days=3))
    result = run(env, "--source", "ios", "--since", since, "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["recovered"] == found


def test_bad_since(env: dict[str, str]) -> None:
    result = run(env, "--since", "last week")
    assert result.exit_code == 2
    assert "'last week' is not a date" in result.output


def test_every_page_is_read(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    start = ago(hours=5)
    for i in range(450):
        fake_asc.add_delivery(
            ios, build_event(f"event-{i:03}"), created=start + timedelta(seconds=i)
        )
    result = run(env, "--source", "ios", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["recovered"] == 450
    pages = fake_asc.requests_to(f"/v1/webhooks/{ios}/deliveries")
    assert len(pages) == 3
    assert [("cursor" in p.args) for p in pages] == [False, True, True]
    assert all(p.args["filter[deliveryState]"] == "FAILED" for p in pages)
    assert len(db.recent_events(limit=1000)) == 450


def test_redeliver_asks_apple_for_missing_events_only(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    fake_asc.add_delivery(ios, BUILD, created=ago(minutes=50))
    run(env, "--source", "ios")  # BUILD is now known
    older = fake_asc.add_delivery(ios, LIVE, created=ago(minutes=40))
    newer = fake_asc.add_delivery(ios, LIVE, created=ago(minutes=30))
    fake_asc.add_delivery(ios, PING, created=ago(minutes=20))
    fake_asc.clear()
    result = run(env, "--source", "ios", "--redeliver")
    assert result.exit_code == 0, result.output
    assert fake_asc.redelivered == [newer]  # one per event, the newest as template
    assert older not in fake_asc.redelivered
    new = fake_asc.deliveries(ios)[0]
    assert new["attributes"]["redelivery"] is True
    assert "(asking App Store Connect to redeliver)" in result.output
    assert (
        f"ios (webhook {ios}): 4 failed deliveries, 0 recovered, 1 already known, 1 ping skipped, "
        "1 redelivery requested"
    ) in result.output
    assert f"    redelivery requested for {newer} (new delivery {new['id']})" in result.output
    assert [e.event_id for e in db.recent_events(limit=10)] == [BUILD_ID]  # nothing stored
    [post] = fake_asc.requests_to("/v1/webhookDeliveries", "POST")
    assert post.json == {
        "data": {
            "type": "webhookDeliveries",
            "relationships": {"template": {"data": {"type": "webhookDeliveries", "id": newer}}},
        }
    }


def test_json_report(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, mac: str
) -> None:
    delivery = fake_asc.add_delivery(mac, BUILD)
    result = run(env, "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert set(report) == {
        "since",
        "until",
        "redeliver",
        "shortened_to_retention",
        "recovered",
        "errors",
        "sources",
    }
    assert report["recovered"] == 1
    assert report["errors"] == []
    assert report["redeliver"] is False
    by_name = {s["source"]: s for s in report["sources"]}
    assert list(by_name) == ["ios", "mac", "watch"]  # appstoreconnect sources only
    assert by_name["mac"] == {
        "source": "mac",
        "webhook_id": mac,
        "skipped": None,
        "error": None,
        "failed_deliveries": 1,
        "recovered": [
            {
                "event_id": BUILD_ID,
                "type": "buildUploadStateUpdated",
                "delivery_id": delivery,
                "routes": ["build-complete"],
            }
        ],
        "known": [],
        "pings": 0,
        "unreadable": [],
        "redelivered": [],
    }
    assert by_name["watch"]["skipped"].startswith("no `webhook_id`")
    assert by_name["ios"]["webhook_id"] == ios


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("nope", "unknown source 'nope' in "),
        (
            "beta",
            "source 'beta' is a pgyer source; only appstoreconnect sources have a delivery log",
        ),
    ],
)
def test_source_must_be_an_appstoreconnect_one(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, source: str, message: str
) -> None:
    result = run(env, "--source", source)
    assert result.exit_code == 1
    assert message in result.output
    assert "appstoreconnect sources: ios, mac, watch" in result.output or "pgyer" in message
    assert fake_asc.requests == []


def test_source_filter(env: dict[str, str], fake_asc: FakeAppStoreConnect, mac: str) -> None:
    result = run(env, "--source", "mac", "--source", "watch")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()[1:]] == ["mac", "watch:"]
    assert {r.path for r in fake_asc.requests} == {f"/v1/webhooks/{mac}/deliveries"}


def test_an_error_on_one_webhook_does_not_stop_the_others(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, mac: str, db: Store
) -> None:
    fake_asc.add_delivery(mac, BUILD)
    result = run({**env, "IOS_WEBHOOK": "deleted-hook"})
    assert result.exit_code == 1
    assert "ios (webhook deleted-hook): 0 failed deliveries" in result.output
    assert "error: GET /v1/webhooks/deleted-hook/deliveries: 404 NOT_FOUND" in result.output
    assert f"mac (webhook {mac}): 1 failed delivery, 1 recovered" in result.output
    assert result.output.splitlines()[-1].startswith(
        "Error: ios: GET /v1/webhooks/deleted-hook/deliveries: 404"
    )
    assert len(db.recent_events(limit=10)) == 1


def test_transient_error_mid_way_keeps_what_was_stored(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    start = ago(hours=2)
    for i in range(250):
        fake_asc.add_delivery(
            ios, build_event(f"event-{i:03}"), created=start + timedelta(seconds=i)
        )
    fake_asc.enqueue(None)  # the first page answers normally …
    fake_asc.enqueue(503, match="/deliveries")  # … the second does not
    first = run(env, "--source", "ios", "--json")
    assert first.exit_code == 1
    report = json.loads(first.stdout)
    assert report["recovered"] == 200
    assert "503" in report["errors"][0]
    again = json.loads(run(env, "--source", "ios", "--json").stdout)
    assert again["recovered"] == 50
    assert len(again["sources"][0]["known"]) == 200
    assert len(db.recent_events(limit=1000)) == 250


def test_wrong_key(env: dict[str, str], fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> None:
    other = generate_asc_key(key_id=asc_key.key_id, issuer_id=asc_key.issuer_id)
    result = run({**env, "ASC_PRIVATE_KEY": other.private_pem})
    assert result.exit_code == 1
    assert "401 NOT_AUTHORIZED" in result.output
    assert "check ASC_KEY_ID" in result.output


def test_missing_key(env: dict[str, str]) -> None:
    result = run({**env, "ASC_ISSUER_ID": None})
    assert result.exit_code == 1
    assert "set ASC_ISSUER_ID" in result.output


# -- the job ------------------------------------------------------------------------------------


@pytest.fixture
def client(fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> AscClient:
    return asc_client_for(fake_asc, asc_key)


@pytest.fixture
def routes(env: dict[str, str]) -> RoutesConfig:
    return load_routes(env["BRIDGE_ROUTES"], env)


def every(interval: float | None, window: float = 24 * 3600.0) -> Settings:
    return Settings(reconcile_interval=interval, reconcile_window=window)


def test_one_job_runs_per_interval_across_processes(
    store: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect, ios: str
) -> None:
    fake_asc.add_delivery(ios, BUILD)
    woken: list[str] = []
    first = ReconcileJob(client, store, routes, every(600.0), lambda: woken.append("first"))
    second = ReconcileJob(client, store, routes, every(600.0), lambda: woken.append("second"))
    now = time.time()
    report = first.run_once(now)
    assert report is not None
    assert report.recovered == 1
    assert woken == ["first"]
    assert second.run_once(now + 1) is None  # ran 1 s ago, elsewhere
    assert first.run_once(now + 599) is None  # not due
    again = second.run_once(now + 601)
    assert again is not None
    assert again.recovered == 0
    assert [len(s.known) for s in again.sources if s.source == "ios"] == [1]
    assert woken == ["first"]  # nothing new: nobody woken
    assert len(fake_asc.requests_to(f"/v1/webhooks/{ios}/deliveries")) == 2
    assert [e.event_id for e in store.recent_events(limit=10)] == [BUILD_ID]


def test_concurrent_jobs_take_turns(
    store: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect, ios: str
) -> None:
    fake_asc.add_delivery(ios, BUILD)
    jobs = [ReconcileJob(client, store, routes, every(600.0)) for _ in range(4)]
    barrier = threading.Barrier(len(jobs))
    now = time.time()
    reports: list[object] = []

    def attempt(job: ReconcileJob) -> None:
        barrier.wait()
        reports.append(job.run_once(now))

    threads = [threading.Thread(target=attempt, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sum(r is not None for r in reports) == 1
    assert len(fake_asc.requests_to(f"/v1/webhooks/{ios}/deliveries")) == 1


def test_the_job_records_its_result(
    env: dict[str, str],
    db: Store,
    client: AscClient,
    routes: RoutesConfig,
    fake_asc: FakeAppStoreConnect,
    ios: str,
) -> None:
    fake_asc.add_delivery(ios, BUILD)
    ReconcileJob(client, db, routes, every(60.0)).run_once(time.time())
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT last_result, lease_owner FROM jobs WHERE name = 'reconcile'"
        ).fetchone()
    assert row == ("2 webhook(s): 1 failed delivery, 1 recovered, 0 already known", None)


def test_the_job_thread_reconciles_and_wakes_the_dispatcher(
    db: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect, ios: str
) -> None:
    fake_asc.add_delivery(ios, BUILD)
    woken = threading.Event()
    job = ReconcileJob(client, db, routes, every(0.05), woken.set)
    job.start()
    try:
        assert woken.wait(10)
        assert job.running
        fake_asc.wait_for(3, match=f"/v1/webhooks/{ios}/deliveries")  # it keeps going
    finally:
        job.stop()
    assert not job.running
    assert [e.event_id for e in db.recent_events(limit=10)] == [BUILD_ID]


def test_the_job_is_off_without_an_interval(
    db: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect
) -> None:
    job = ReconcileJob(client, db, routes, every(None))
    job.start()
    assert not job.running
    assert job.run_once(time.time()) is None
    job.stop()
    assert fake_asc.requests == []


def test_the_job_logs_recoveries_as_warnings(
    db: Store,
    client: AscClient,
    routes: RoutesConfig,
    fake_asc: FakeAppStoreConnect,
    ios: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_asc.add_delivery(ios, BUILD)
    caplog.set_level(logging.INFO, logger="bridge.appstoreconnect.reconcile_job")
    ReconcileJob(client, db, routes, every(60.0)).run_once(time.time())
    records = [r for r in caplog.records if r.name == "bridge.appstoreconnect.reconcile_job"]
    recovered = [r for r in records if "recovered buildUploadStateUpdated" in r.getMessage()]
    assert [r.levelno for r in recovered] == [logging.WARNING]
    assert recovered[0].event_id == BUILD_ID  # type: ignore[attr-defined]
    assert "whose webhook delivery had failed → build-complete" in recovered[0].getMessage()
    assert (
        records[-1].getMessage()
        == "reconcile: 2 webhook(s): 1 failed delivery, 1 recovered, 0 already known"
    )
    assert records[-1].levelno == logging.WARNING
    caplog.clear()
    ReconcileJob(client, db, routes, every(60.0)).run_once(time.time() + 120)
    [summary] = [r for r in caplog.records if r.name == "bridge.appstoreconnect.reconcile_job"]
    assert summary.levelno == logging.INFO
    assert "0 recovered, 1 already known" in summary.getMessage()
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "test-asc-secret-0123456789" not in logged
    assert not any(token in logged for token in fake_asc.tokens)


def test_the_job_logs_api_errors_without_traceback(
    db: Store,
    client: AscClient,
    routes: RoutesConfig,
    fake_asc: FakeAppStoreConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_asc.enqueue(500, match="/deliveries", times=2)
    caplog.set_level(logging.INFO, logger="bridge.appstoreconnect.reconcile_job")
    report = ReconcileJob(client, db, routes, every(60.0)).run_once(time.time())
    assert report is not None
    assert len(report.errors) == 2
    errors = [
        r
        for r in caplog.records
        if r.name == "bridge.appstoreconnect.reconcile_job" and "500" in r.getMessage()
    ]
    assert errors
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in errors)
    assert "500 UNEXPECTED_ERROR" in errors[0].getMessage()


def test_reconcile_function(
    db: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect, ios: str
) -> None:
    fake_asc.add_delivery(ios, LIVE, created=ago(hours=2))
    now = time.time()
    skipped = reconcile(client, db, routes, since=now - 3600, now=now, sources=["ios"])
    assert skipped.recovered == 0
    report = reconcile(client, db, routes, since=now - 3 * 3600, now=now, sources=["ios"])
    assert report.recovered == 1
    assert report.sources[0].recovered[0].routes == ("version-live",)
    assert (
        report.describe().splitlines()[1].endswith("1 recovered, 0 already known, 0 pings skipped")
    )
    assert report.as_dict()["since"] == datetime.fromtimestamp(now - 3 * 3600, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


# -- in the running service -----------------------------------------------------------------------


def test_a_bridge_with_the_interval_set_recovers_and_delivers_a_missed_event(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, fake_github: FakeGitHub, ios: str
) -> None:
    """create_app starts the job beside the dispatcher: the event Apple failed to deliver
    while bridge was down reaches GitHub without anyone running a command."""
    fake_asc.add_delivery(ios, BUILD, created=ago(minutes=5))
    app = create_app(
        environ={
            **env,
            "GITHUB_TOKEN": "ghp_reconcile",
            "GITHUB_API_URL": fake_github.url,
            "BRIDGE_RECONCILE_INTERVAL": "1h",
            "BRIDGE_POLL_INTERVAL": "0.2s",
        }
    )
    state = app.extensions["bridge"]
    try:
        [dispatch] = fake_github.wait_for_dispatches(1, timeout=10)
        assert dispatch.json["client_payload"]["event_id"] == BUILD_ID
        assert len(state.store.events_by_id(BUILD_ID)) == 1
        assert state.reconciler is not None and state.reconciler.running
    finally:
        state.reconciler.stop()
        state.dispatcher.stop()
        state.store.close()


def test_the_interval_without_a_key_refuses_to_start(env: dict[str, str]) -> None:
    without_key = {k: v for k, v in env.items() if not k.startswith("ASC_")}
    with pytest.raises(ConfigError, match="BRIDGE_RECONCILE_INTERVAL is set"):
        create_app(
            environ={**without_key, "BRIDGE_DRY_RUN": "1", "BRIDGE_RECONCILE_INTERVAL": "1h"}
        )


def test_the_window_never_reaches_past_retention(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, ios: str, db: Store
) -> None:
    """An event pruned by BRIDGE_RETENTION is unknown again: taking it in from a delivery
    older than the retention would dispatch it a second time."""
    fake_asc.add_delivery(ios, build_event("old-one"), created=ago(hours=30))
    fake_asc.add_delivery(ios, build_event("new-one"), created=ago(hours=1))
    result = run({**env, "BRIDGE_RETENTION": "12h"}, "--since", "7d")
    assert result.exit_code == 0, result.output
    assert "BRIDGE_RETENTION: older events may have been pruned" in result.output.splitlines()[0]
    assert {e.event_id for e in db.recent_events(limit=10)} == {"new-one"}


def test_a_delivery_sent_to_another_endpoint_is_not_taken_in(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, mac: str, db: Store
) -> None:
    """`webhook_id` copied from another source: its deliveries went to /webhooks/mac."""
    result = run({**env, "IOS_WEBHOOK": mac, "MAC_WEBHOOK": "unused"}, "--source", "ios")
    assert result.exit_code == 0, result.output
    fake_asc.add_delivery(mac, BUILD, created=ago(hours=1))
    result = run({**env, "IOS_WEBHOOK": mac, "MAC_WEBHOOK": "unused"}, "--source", "ios")
    assert "sent to https://bridge.example/webhooks/mac, not to /webhooks/ios" in result.output
    assert db.recent_events(limit=10) == []


def test_one_webhook_on_two_sources_is_a_load_error(env: dict[str, str]) -> None:
    result = run({**env, "MAC_WEBHOOK": env["IOS_WEBHOOK"]})
    assert result.exit_code == 1
    assert "sources.mac.webhook_id" in result.output
    assert "is already the webhook of source 'ios'" in result.output


def test_a_restarted_process_catches_up_at_once(
    store: Store, client: AscClient, routes: RoutesConfig, fake_asc: FakeAppStoreConnect, ios: str
) -> None:
    """A deploy or a crash restarts the processes: the first try of a new process runs
    unless another run ended less than a minute ago, whatever the interval."""
    now = time.time()
    assert ReconcileJob(client, store, routes, every(3600.0)).run_once(now) is not None
    assert ReconcileJob(client, store, routes, every(3600.0)).run_once(now + 30) is None
    restarted = ReconcileJob(client, store, routes, every(3600.0))
    assert restarted.run_once(now + 120) is not None  # a restart two minutes later
    assert restarted.run_once(now + 240) is None  # then the interval applies
