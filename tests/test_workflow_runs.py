"""GitHub as a source: ``X-Hub-Signature-256``, ``workflow_run`` events matched to the delivery
that started the run (by run id, or by ``[bridge <delivery id>]`` in the run-name), on both
store backends; and end to end through a real ``bridge serve``, the fake GitHub and a GitHub
webhook sender on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.cli import cli
from bridge.errors import PayloadError, SignatureError
from bridge.events import Event, Instance
from bridge.intake.runs import run_report
from bridge.providers import github
from bridge.providers.signatures import github_signature, verify_github
from bridge.routing.load import load_routes
from bridge.store import AttemptResult, RunReport, Store
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge
from tests.support.github_webhooks import GITHUB_SECRET, github_headers, workflow_run
from tests.support.metrics import parse, value
from tests.support.samples import ASC_SECRET, sample, signed
from tests.support.servers import Server, free_port

ADMIN_TOKEN = "admin-token-0123456789"
METRICS_TOKEN = "metrics-token-0123456789"
SAMPLE = sample("github/workflow-run-completed.json")

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
  gh:
    provider: github
    secret: ${GITHUB_WEBHOOK_SECRET}
routes:
  - name: release
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      workflow: release.yml
      ref: main
  - name: notes
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      event_type: asc-version-live
"""


# -- the signature, with GitHub's published example ----------------------------------------------
# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries#testing-the-webhook-payload-validation

VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello, World!"
VECTOR_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_github_published_vector() -> None:
    assert github_signature(VECTOR_BODY, VECTOR_SECRET) == VECTOR_SIGNATURE
    verify_github(VECTOR_BODY, header=VECTOR_SIGNATURE, secrets=[VECTOR_SECRET])
    verify_github(VECTOR_BODY, header=VECTOR_SIGNATURE.upper().replace("SHA256", "sha256"),
                  secrets=["old", VECTOR_SECRET])  # fmt: skip


@pytest.mark.parametrize(
    ("header", "secrets", "message"),
    [
        (None, [VECTOR_SECRET], "missing X-Hub-Signature-256"),
        ("", [VECTOR_SECRET], "missing X-Hub-Signature-256"),
        (VECTOR_SIGNATURE, [], "no webhook secret"),
        (VECTOR_SIGNATURE.replace("sha256=", "sha1="), [VECTOR_SECRET], "must start with"),
        (VECTOR_SIGNATURE[:-1] + "0", [VECTOR_SECRET], "does not match"),
        (VECTOR_SIGNATURE, ["another secret"], "does not match"),
    ],
)
def test_github_signature_refusals(header: str | None, secrets: list[str], message: str) -> None:
    with pytest.raises(SignatureError, match=message) as caught:
        verify_github(VECTOR_BODY, header=header, secrets=secrets)
    assert VECTOR_SECRET not in str(caught.value)


# -- the provider --------------------------------------------------------------------------------


def test_workflow_run_from_headers_and_body() -> None:
    headers = {"x-github-event": "workflow_run", "x-github-delivery": "72d3162e-cc78"}
    event = github.parse(SAMPLE, source="gh", headers=headers)
    assert (event.type, event.id, event.new_state) == ("workflow_run", "72d3162e-cc78", "completed")
    assert event.instance == Instance("workflow_run", "30433642")
    assert event.timestamp == "2026-05-02T10:14:03Z"
    assert run_report(event) == RunReport(
        run_id=30433642, attempt=1, status="completed", conclusion="failure",
        url="https://github.com/octo-org/ios-app/actions/runs/30433642",
        repository="octo-org/ios-app", delivery_id="5f0c2b9e-3a51-4c1e-9d7a-0b6c2f1e8a42",
        workflow="Submit for review",
    )  # fmt: skip


def test_a_body_alone_is_typed_by_its_shape_and_named_by_its_content() -> None:
    event = github.parse(SAMPLE, source="gh")
    assert event.type == "workflow_run"
    assert event.id.startswith("sha256:")
    assert github.parse(SAMPLE, source="gh").id == event.id
    ping = github.parse(b'{"zen": "Keep it simple.", "hook_id": 1}', source="gh")
    assert ping.type == "ping"
    assert run_report(ping) is None


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"payload=%7B%7D", {"x-github-event": "push"}, "content type to application/json"),
        (b'{"ref": "refs/heads/main"}', {}, "missing X-GitHub-Event"),
        (b'{"workflow_run": {"id": "7"}}', {}, "integer workflow_run.id"),
    ],
)
def test_bad_github_bodies(body: bytes, headers: dict[str, str], message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        github.parse(body, source="gh", headers=headers)


# -- the store, on both backends -----------------------------------------------------------------


def _delivered(store: Store, repository: str, *, run_id: int | None) -> str:
    """One delivery that GitHub accepted for ``repository``; returns its id."""
    event = Event("ios", "appstoreconnect", "t", str(uuid.uuid4()))
    (delivery_id,) = store.record_event(event, b"{}", ["r"], now=1.0).delivery_ids
    (claim,) = store.claim_due(owner="me", now=2.0, lease=60, limit=1)
    kind = "workflow_dispatch" if run_id else "repository_dispatch"
    path = f"/repos/{repository}/" + (
        "actions/workflows/x.yml/dispatches" if run_id else "dispatches"
    )
    result = AttemptResult(
        "delivered", 2.0, 5.0, 200 if run_id else 204,
        request={"kind": kind, "method": "POST", "path": path, "body": {}}, run_id=run_id,
    )  # fmt: skip
    assert store.finish(claim.delivery_id, owner=claim.lease_owner, result=result)
    return delivery_id


def _report(run_id: int, status: str, conclusion: str | None = None, **kw: Any) -> RunReport:
    fields: dict[str, Any] = {"attempt": 1, "url": None, "repository": "acme/ios"} | kw
    return RunReport(run_id=run_id, status=status, conclusion=conclusion, **fields)


def _run_state(store: Store, delivery_id: str) -> tuple[str | None, str | None]:
    (record,) = [
        d for e in store.recent_events(limit=50) for d in e.deliveries if d.id == delivery_id
    ]
    return record.run_status, record.run_conclusion


def test_reports_find_their_delivery_by_run_id(store: Store) -> None:
    delivery = _delivered(store, "acme/ios", run_id=77)
    assert _run_state(store, delivery) == (None, None)
    update = store.record_run(_report(77, "in_progress"), now=3.0)
    assert update is not None and (update.delivery_id, update.changed) == (delivery, True)
    assert _run_state(store, delivery) == ("in_progress", None)
    assert store.record_run(_report(77, "completed", "success"), now=4.0) is not None
    assert _run_state(store, delivery) == ("completed", "success")


def test_reports_find_a_repository_dispatch_by_the_run_name_mark(store: Store) -> None:
    delivery = _delivered(store, "acme/ios", run_id=None)
    assert store.record_run(_report(5, "queued"), now=3.0) is None  # no mark: no match
    update = store.record_run(_report(5, "queued", delivery_id=delivery), now=3.0)
    assert update is not None and update.delivery_id == delivery
    # The run id is kept: later reports match without the mark, case aside.
    later = _report(5, "completed", "cancelled", repository="ACME/iOS")
    assert store.record_run(later, now=4.0) is not None
    assert _run_state(store, delivery) == ("completed", "cancelled")


def test_a_run_in_another_repository_claims_nothing(store: Store) -> None:
    delivery = _delivered(store, "acme/ios", run_id=9)
    elsewhere = _report(9, "completed", "success", repository="mallory/ios", delivery_id=delivery)
    assert store.record_run(elsewhere, now=3.0) is None
    assert store.record_run(_report(9, "completed", "success", repository=None), now=3.0) is None
    assert _run_state(store, delivery) == (None, None)


def test_a_late_report_never_moves_a_run_back_but_a_rerun_does(store: Store) -> None:
    delivery = _delivered(store, "acme/ios", run_id=11)
    assert store.record_run(_report(11, "completed", "failure"), now=3.0) is not None
    late = store.record_run(_report(11, "in_progress"), now=4.0)
    assert late is not None and late.changed is False
    assert store.record_run(_report(11, "completed", "failure"), now=4.5).changed is False  # type: ignore[union-attr]
    assert _run_state(store, delivery) == ("completed", "failure")
    rerun = store.record_run(_report(11, "in_progress", attempt=2), now=5.0)
    assert rerun is not None and rerun.changed
    assert _run_state(store, delivery) == ("in_progress", None)
    # A new attempt of the delivery (a replay) forgets the old run until the new one reports.
    store.requeue_delivery(delivery, now=6.0)
    (claim,) = store.claim_due(owner="me", now=6.0, lease=60, limit=1)
    result = AttemptResult("delivered", 6.0, 1.0, 204, request=None)
    assert store.finish(claim.delivery_id, owner=claim.lease_owner, result=result)
    assert _run_state(store, delivery) == (None, None)


# -- through HTTP ---------------------------------------------------------------------------------


@pytest.fixture
def gh_app(tmp_path: Path, environ: dict[str, str]) -> Iterator[Flask]:
    routes = tmp_path / "gh-routes.yaml"
    routes.write_text(ROUTES)
    env = {**environ, "BRIDGE_ROUTES": str(routes), "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET}
    app = create_app(environ=env)
    yield app
    bridge(app).close()


def test_github_webhooks_are_verified_on_the_raw_bytes(gh_app: Flask) -> None:
    client: FlaskClient = gh_app.test_client()
    body = workflow_run(1, "queued")
    good = github_headers(body, "workflow_run")
    assert client.post("/webhooks/gh", data=body, headers=good).status_code == 202
    for broken in (
        {k: v for k, v in good.items() if k != "X-Hub-Signature-256"},
        {**good, "X-Hub-Signature-256": github_signature(body, "wrong")},
        {**good, "X-Hub-Signature-256": github_signature(body + b" ", GITHUB_SECRET)},
    ):
        answer = client.post("/webhooks/gh", data=body, headers=broken)
        assert answer.status_code == 401
        assert "X-Hub-Signature-256" in answer.get_json()["error"]
    form = b"payload=%7B%7D"
    answer = client.post("/webhooks/gh", data=form, headers=github_headers(form, "push"))
    assert answer.status_code == 400
    assert "application/json" in answer.get_json()["error"]
    # Redelivered (same X-GitHub-Delivery): a duplicate, nothing stored twice.
    assert client.post("/webhooks/gh", data=body, headers=good).get_json()["status"] == "duplicate"


def _post(server: Server, body: bytes, headers: Mapping[str, str]) -> int:
    status, _ = server.post("/webhooks/gh", body, dict(headers))
    return status


def _events_json(env: dict[str, str]) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["events", "--json", "--source", "ios"], env=env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _get(server: Server, path: str, token: str) -> str:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text: str = response.read().decode()
        return text


def test_runs_followed_to_the_end_through_a_real_server(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    """An App Store Connect event dispatches twice (workflow_dispatch with a run id, and
    repository_dispatch); GitHub's webhook sender then reports both runs, out of order and
    once redelivered. bridge events, the delivery log and /metrics show how each ended."""
    routes = tmp_path / "gh-routes.yaml"
    routes.write_text(ROUTES)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "PROMETHEUS_"))}
    env.update(environ)
    env.update({
        "BRIDGE_ROUTES": str(routes), "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "BRIDGE_DRY_RUN": "0", "BRIDGE_DISPATCHER": "1", "GITHUB_TOKEN": "ghp_test_token",
        "GITHUB_API_URL": fake_github.url, "PORT": str(free_port()), "WEB_CONCURRENCY": "2",
        "BRIDGE_ADMIN_TOKEN": ADMIN_TOKEN, "BRIDGE_METRICS_TOKEN": METRICS_TOKEN,
    })  # fmt: skip
    fake_github.workflow_run_details = True
    server = Server(env, tmp_path / "server.log").start()
    try:
        ready = sample("appstoreconnect/app-version-ready-for-distribution.json")
        assert server.post("/webhooks/ios", ready, signed(ready, ASC_SECRET))[0] == 202
        dispatches = fake_github.wait_for_dispatches(2, timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            delivered = [d for e in _events_json(env) for d in e["deliveries"]]
            if all(d["state"] == "delivered" for d in delivered):
                break
            time.sleep(0.1)
        by_route = {d["route"]: d for d in delivered}
        assert {d["state"] for d in delivered} == {"delivered"}
        run_id = int(by_route["release"]["run_url"].rsplit("/", 1)[1])
        (repo_dispatch,) = [r for r in dispatches if r.path.endswith("/repos/acme/ios/dispatches")]
        assert isinstance(repo_dispatch.json, dict)
        mark = f"[bridge {repo_dispatch.json['client_payload']['bridge']['delivery_id']}]"
        assert mark == f"[bridge {by_route['notes']['id']}]"

        # GitHub reports: the dispatched workflow fails; the repository_dispatch run is
        # cancelled, its completed report arriving before its in_progress one.
        completed = workflow_run(run_id, "completed", "failure")
        completed_headers = github_headers(completed, "workflow_run")
        reports = [
            (workflow_run(run_id, "in_progress"), None),
            (completed, completed_headers),
            (completed, completed_headers),  # redelivered from GitHub's UI: same GUID
            (workflow_run(555, "completed", "cancelled", title=f"Notes 2.4 {mark}"), None),
            (workflow_run(555, "in_progress", title=f"Notes 2.4 {mark}"), None),
            (
                workflow_run(
                    556, "completed", "failure", title=f"Other {mark}", repository="mallory/ios"
                ),
                None,
            ),
        ]
        statuses = [
            _post(server, body, headers or github_headers(body, "workflow_run"))
            for body, headers in reports
        ]
        assert statuses == [202, 202, 200, 202, 202, 202]

        by_route = {d["route"]: d for e in _events_json(env) for d in e["deliveries"]}
        assert (by_route["release"]["run_status"], by_route["release"]["run_conclusion"]) == (
            "completed", "failure",
        )  # fmt: skip
        assert (by_route["notes"]["run_status"], by_route["notes"]["run_conclusion"]) == (
            "completed", "cancelled",
        )  # fmt: skip
        assert by_route["notes"]["run_url"] == "https://github.com/acme/ios/actions/runs/555"
        text = CliRunner().invoke(cli, ["events", "--source", "ios"], env=env).output
        assert "run=failure" in text and "run=cancelled" in text

        page = _get(server, "/deliveries", ADMIN_TOKEN)
        assert page.count("run failure") == 1 and page.count("run cancelled") == 1
        metrics = parse(_get(server, "/metrics", METRICS_TOKEN))
        completed_runs = "bridge_workflow_runs_completed_total"
        assert value(metrics, completed_runs, conclusion="failure") == 1
        assert value(metrics, completed_runs, conclusion="cancelled") == 1
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    warnings = [line for line in log.splitlines() if "ended " in line and "WARNING" in line]
    assert len(warnings) == 2, log
    assert any(
        f"workflow run {run_id} (attempt 1) of route release ended failure" in w for w in warnings
    )
    assert GITHUB_SECRET not in log


# -- the sample workflows carry the mark ----------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "workflows-examples"
DELIVERY_EXPRESSIONS = (
    "github.event.client_payload.bridge.delivery_id",  # repository_dispatch: the correlation key
    "inputs.bridge_delivery_id",  # workflow_dispatch: the input routes.yaml fills
)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yml")), ids=lambda p: p.name)
def test_every_sample_workflow_names_its_runs_after_the_delivery(path: Path) -> None:
    run_name = yaml.safe_load(path.read_text())["run-name"]
    delivery_id = str(uuid.uuid4())

    def evaluate(match: re.Match[str]) -> str:
        return delivery_id if match.group(1) in DELIVERY_EXPRESSIONS else "2.4"

    title = re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", evaluate, run_name)
    found = github.DELIVERY_MARK.search(title)
    assert found is not None and found.group(1) == delivery_id, title


def test_the_shipped_routes_commented_github_source_loads_once_uncommented(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    text = (root / "routes.yaml").read_text()
    commented = "  # github:                                 # GitHub → POST /webhooks/github\n"
    assert commented in text
    lines = text.splitlines(keepends=True)
    start = lines.index(commented)
    for n in range(start, start + 3):  # the source's three lines, indentation kept
        lines[n] = lines[n].replace("  # ", "  ", 1).replace("  #   ", "    ", 1)
    path = tmp_path / "routes.yaml"
    path.write_text("".join(lines))
    env = {"ASC_WEBHOOK_SECRET": "s", "PGYER_WEBHOOK_TOKEN": "t", "GITHUB_WEBHOOK_SECRET": "g"}
    config = load_routes(path, env)
    assert config.sources["github"].provider == "github"
    assert config.sources["github"].secrets == ("g",)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yml")), ids=lambda p: p.name)
def test_no_sample_workflow_shares_one_concurrency_group_across_events(path: Path) -> None:
    """GitHub cancels an older pending run of a group when a third arrives: a static group
    would drop a dispatch bridge shows as delivered (workflows-examples/README.md)."""
    concurrency = yaml.safe_load(path.read_text()).get("concurrency")
    if concurrency is None:
        return
    group = concurrency["group"] if isinstance(concurrency, dict) else concurrency
    expressions = re.findall(r"\$\{\{\s*([^}]+?)\s*\}\}", group)
    per_event = {"github.event.client_payload.instance.id", "inputs.app_store_version_id"}
    assert set(expressions) & per_event, group
