"""A workflow run that bridge started and that ends ``failure``, ``cancelled`` or ``timed_out``
is announced on ``alerts.failed`` like a failed delivery, once, with a link to the run; a run
that succeeds is not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from bridge import create_app
from tests.fakes.chat import FakeChat
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge
from tests.support.github_webhooks import GITHUB_SECRET, github_headers, workflow_run
from tests.support.samples import ASC_SECRET, sample, signed

BUILD = "appstoreconnect/build-upload-complete.json"
ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
  github: {provider: github, secret: "${GITHUB_WEBHOOK_SECRET}"}
targets:
  ops: {kind: slack, url: "${SLACK_WEBHOOK_URL}"}
routes:
  - name: submit
    source: ios
    event: buildUploadStateUpdated
    to: COMPLETE
    dispatch: {repository: acme/ios, event_type: asc-build-complete}
alerts:
  failed: ops
"""


@pytest.fixture
def app(tmp_path: Path, fake_github: FakeGitHub, fake_chat: FakeChat) -> Iterator[Flask]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    env = {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "GITHUB_TOKEN": "ghp_run_alerts",
        "GITHUB_API_URL": fake_github.url,
        "SLACK_WEBHOOK_URL": fake_chat.urls()["SLACK_WEBHOOK_URL"],
        "BRIDGE_DISPATCHER": "0",
    }
    app = create_app(environ=env)
    yield app
    bridge(app).close()


def dispatched(app: Flask) -> str:
    """Take the build upload in and dispatch it; returns its delivery id."""
    body = sample(BUILD)
    assert (
        app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    )
    assert bridge(app).dispatcher.run_once() == 1
    [event] = bridge(app).store.recent_events(limit=1)
    [delivery] = event.deliveries
    assert delivery.state == "delivered"
    return delivery.id


def report(app: Flask, run_id: int, delivery_id: str, status: str, conclusion: str | None) -> None:
    body = workflow_run(run_id, status, conclusion, title=f"Submit [bridge {delivery_id}]")
    headers = github_headers(body, "workflow_run")
    assert app.test_client().post("/webhooks/github", data=body, headers=headers).status_code == 202


def alerts(fake: FakeChat) -> list[str]:
    return [r.body.decode() for r in fake.requests("slack")]


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out"])
def test_a_run_that_ends_badly_is_announced_once(
    app: Flask, fake_chat: FakeChat, conclusion: str
) -> None:
    delivery_id = dispatched(app)
    report(app, 7001, delivery_id, "in_progress", None)
    report(app, 7001, delivery_id, "completed", conclusion)
    report(app, 7001, delivery_id, "completed", conclusion)  # GitHub redelivers: once
    bridge(app).alerter.stop()  # posts what is queued
    [alert] = alerts(fake_chat)
    assert f"Workflow run {conclusion}" in alert
    assert "https://github.com/acme/ios/actions/runs/7001" in alert
    assert "submit" in alert


def test_a_run_that_succeeds_is_not_announced(app: Flask, fake_chat: FakeChat) -> None:
    delivery_id = dispatched(app)
    report(app, 7002, delivery_id, "completed", "success")
    bridge(app).alerter.stop()
    assert alerts(fake_chat) == []
