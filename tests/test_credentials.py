"""Credentials going bad are seen before they fail a release: a GitHub token's expiry (from
GitHub's ``github-authentication-token-expiration`` answer header), and a GitHub or App Store
Connect credential being refused, on ``/readyz`` (warnings), the delivery log and
``/metrics``; kept in the store, on both backends. Through a real app against the fake GitHub
and the fake App Store Connect."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge.delivery.github_answers import token_expiration
from bridge.store import CredentialState, Store
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge, close_app
from tests.support.asc import enriching_app
from tests.support.metrics import parse, value
from tests.support.samples import sample, signed

ADMIN_TOKEN = "admin-token-0123456789"
HEADER = "GitHub-Authentication-Token-Expiration"
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
"""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({HEADER: "2026-08-26 09:01:00 UTC"}, datetime(2026, 8, 26, 9, 1, tzinfo=UTC)),
        ({HEADER.lower(): "2026-08-26 11:01:00 +0200"}, datetime(2026, 8, 26, 9, 1, tzinfo=UTC)),
        ({HEADER: "soon"}, None),
        ({}, None),
    ],
)
def test_token_expiration_header(header: dict[str, str], expected: datetime | None) -> None:
    assert token_expiration(header) == (expected.timestamp() if expected else None)


def test_credential_states_are_kept(store: Store) -> None:
    assert store.credential_states() == []
    store.note_credential("github", now=10.0, expires_at=1000.0)
    store.note_credential("appstoreconnect", now=11.0, refused="NOT_AUTHORIZED")
    assert store.credential_states() == [
        CredentialState("appstoreconnect", None, 11.0, "NOT_AUTHORIZED", None),
        CredentialState("github", 10.0, None, None, 1000.0),
    ]
    store.note_credential("appstoreconnect", now=12.0)  # accepted again: no longer refused
    store.note_credential("github", now=13.0)  # an answer without the header keeps the expiry
    assert store.credential_states() == [
        CredentialState("appstoreconnect", 12.0, None, None, None),
        CredentialState("github", 13.0, None, None, 1000.0),
    ]


@pytest.fixture
def app(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> Iterator[Flask]:
    fake_asc.load_samples()
    app = enriching_app(
        tmp_path, ROUTES, fake_asc=fake_asc, key=asc_key, github_url=fake_github.url,
        GITHUB_TOKEN="github_pat_test", BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN,
    )  # fmt: skip
    yield app
    close_app(app)


def _deliver(app: Flask, event_id: str) -> None:
    """One event in through the webhook, its delivery attempted once."""
    payload = json.loads(sample("appstoreconnect/app-version-ready-for-distribution.json"))
    payload["data"]["id"] = event_id
    body = json.dumps(payload).encode()
    assert (
        app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    )
    assert bridge(app).dispatcher.run_once() == 1


def _seen(app: Flask) -> tuple[list[str], dict[Any, float], str]:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    warnings: list[str] = ready.get_json().get("warnings", [])
    metrics = parse(client.get("/metrics", headers=auth).text)
    return warnings, metrics, client.get("/deliveries", headers=auth).text


def test_a_github_token_about_to_expire(app: Flask, fake_github: FakeGitHub) -> None:
    _deliver(app, "e-fresh")  # GitHub sends no expiry: nothing to say
    warnings, metrics, _ = _seen(app)
    assert warnings == []
    assert value(metrics, "bridge_credential_refused", credential="github") == 0

    expires = datetime.fromtimestamp(time.time() + 2 * 86400 + 3 * 3600 + 120, UTC)
    header = expires.strftime("%Y-%m-%d %H:%M:%S UTC")
    fake_github.enqueue(204, headers={HEADER: header}, match="/dispatches")
    _deliver(app, "e-expiring")
    warnings, metrics, page = _seen(app)
    when = expires.strftime("%Y-%m-%d %H:%M UTC")
    assert warnings == [f"the github token expires in 2d 3h ({when}): renew it"]
    left = value(metrics, "bridge_credential_expires_in_seconds", credential="github")
    assert 2 * 86400 < left < 2 * 86400 + 4 * 3600
    assert f"Credentials: the github token expires in 2d 3h ({when}): renew it." in page


def test_a_refused_github_credential_until_it_works_again(
    app: Flask, fake_github: FakeGitHub
) -> None:
    fake_github.enqueue(401, body={"message": "Bad credentials"}, match="/dispatches")
    _deliver(app, "e-refused")
    warnings, metrics, page = _seen(app)
    (warning,) = warnings
    assert warning.startswith("the github credential is refused since ")
    assert "401" in warning and "Bad credentials" in warning
    assert value(metrics, "bridge_credential_refused", credential="github") == 1
    assert "Credentials: the github credential is refused since" in page

    _deliver(app, "e-works")
    warnings, metrics, _ = _seen(app)
    assert warnings == []
    assert value(metrics, "bridge_credential_refused", credential="github") == 0


def test_a_refused_app_store_connect_key(app: Flask, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.enqueue(401, match="/v1/appStoreVersions/")
    _deliver(app, "e-no-key")
    warnings, metrics, _ = _seen(app)
    (warning,) = warnings
    assert warning.startswith("the appstoreconnect credential is refused since ")
    assert value(metrics, "bridge_credential_refused", credential="appstoreconnect") == 1
