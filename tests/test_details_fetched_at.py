"""App Store Connect details describe the resource when bridge fetched it, not when the event
happened: ``details.fetched_at`` says when, and when the fetched state is not the event's
``new_state`` the payload says so (``state_changed_since_event``) and so does the event page.
Through a real app: the webhook over the Flask client, the dispatcher against the fake GitHub
and the fake App Store Connect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge, close_app
from tests.support.asc import enriching_app
from tests.support.samples import sample, signed

ADMIN_TOKEN = "admin-token-0123456789"
ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
    enrich: true
routes:
  - name: version-state
    event: appStoreVersionAppVersionStateUpdated
    dispatch:
      repository: acme/ios
      event_type: version-state
  - name: templated
    event: appStoreVersionAppVersionStateUpdated
    dispatch:
      repository: acme/ios
      event_type: templated
      client_payload:
        fetched_at: "{{ details.fetched_at }}"
        moved_on: "{{ summary.state_changed_since_event }}"
"""


@pytest.fixture
def app(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> Iterator[Flask]:
    fake_asc.load_samples()  # the version is READY_FOR_DISTRIBUTION now
    app = enriching_app(
        tmp_path, ROUTES, fake_asc=fake_asc, key=asc_key, github_url=fake_github.url,
        GITHUB_TOKEN="ghp_test", BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN,
    )  # fmt: skip
    yield app
    close_app(app)


def _sent(fake_github: FakeGitHub) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for request in fake_github.dispatches():
        assert isinstance(request.json, dict)
        out[request.json["event_type"]] = request.json["client_payload"]
    return out


@pytest.mark.parametrize(
    ("event_sample", "moved_on"),
    [
        ("app-version-ready-for-review.json", True),  # by the fetch it was already live
        ("app-version-ready-for-distribution.json", False),
    ],
)
def test_details_say_when_they_were_fetched_and_whether_the_state_moved_on(
    app: Flask, fake_github: FakeGitHub, event_sample: str, moved_on: bool
) -> None:
    client = app.test_client()
    body = sample(f"appstoreconnect/{event_sample}")
    answer = client.post("/webhooks/ios", data=body, headers=signed(body))
    assert answer.status_code == 202
    event_id = answer.get_json()["event_id"]
    assert bridge(app).dispatcher.run_once() == 2

    sent = _sent(fake_github)
    details = sent["version-state"]["details"]
    assert details["state"] == "READY_FOR_DISTRIBUTION"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", details["fetched_at"])
    assert details["state_changed_since_event"] is moved_on
    assert sent["templated"] == {
        "fetched_at": details["fetched_at"],
        "moved_on": str(moved_on),
        "bridge": sent["templated"]["bridge"],
    }

    page = client.get(
        f"/events/ios/{event_id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).text
    assert f'As App Store Connect described it at <time datetime="{details["fetched_at"]}">' in page
    warning = "The state had moved on when the details were fetched: READY_FOR_DISTRIBUTION"
    assert (warning in page) is moved_on
