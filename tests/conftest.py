"""Shared fixtures: a routes.yaml covering every dispatch shape, an app on a temporary SQLite
file, signed sample payloads, and the fake GitHub (tests/fake_github.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.providers.signatures import apple_signature
from bridge.services import Services
from bridge.store import Store, open_store

pytest_plugins = ["tests.fake_github", "tests.fake_appstoreconnect", "tests.postgres_server"]

SAMPLES = Path(__file__).parent / "samples"
ASC_SECRET = "test-asc-secret-0123456789"
ASC_OLD_SECRET = "test-asc-old-secret"
PGYER_TOKEN = "test-pgyer-token-0123456789"

ROUTES_YAML = """\
sources:
  ios:
    provider: appstoreconnect
    secrets: ["${ASC_SECRET}", "${ASC_OLD_SECRET}"]
  beta:
    provider: pgyer
    token: ${PGYER_TOKEN}
routes:
  - name: build-complete
    source: ios
    event: buildUploadStateUpdated
    from: PROCESSING
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
      workflow: release.yml
      ref: main
      inputs:
        version_id: "{{ event.instance.id }}"
  - name: version-live-notes
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: acme/ios
      event_type: asc-version-live
  - name: rejected
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: [REJECTED, METADATA_REJECTED, INVALID_BINARY]
    dispatch:
      repository: acme/ios
      event_type: asc-rejected
      client_payload:
        state: "{{ event.new_state }}"
        missing: "{{ payload.not_there }}"
  - name: new-build
    source: beta
    event: updateVersion
    dispatch:
      repository: acme/android
      event_type: pgyer-new-build
      client_payload:
        version: "{{ payload.os_version }}"
        build: "{{ payload.build_version }}"
"""


def sample(name: str) -> bytes:
    """A recorded webhook body, e.g. ``sample("appstoreconnect/ping.json")``."""
    return (SAMPLES / name).read_bytes()


def signed(body: bytes, secret: str = ASC_SECRET) -> dict[str, str]:
    return {"X-Apple-Signature": apple_signature(body, secret), "Content-Type": "application/json"}


@pytest.fixture
def routes_file(tmp_path: Path) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES_YAML)
    return path


@pytest.fixture
def environ(tmp_path: Path, routes_file: Path) -> dict[str, str]:
    """The environment of a bridge under test: dry-run, dispatcher thread off (tests drive it)."""
    return {
        "BRIDGE_ROUTES": str(routes_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "ASC_OLD_SECRET": ASC_OLD_SECRET,
        "PGYER_TOKEN": PGYER_TOKEN,
        "BRIDGE_DRY_RUN": "1",
        "BRIDGE_DISPATCHER": "0",
    }


@pytest.fixture
def app(environ: dict[str, str]) -> Iterator[Flask]:
    app = create_app(environ=environ)
    yield app
    bridge(app).close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def bridge(app: Flask) -> Services:
    state: Services = app.extensions["bridge"]
    return state


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs twice: on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bridge.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, pool_size=4)
    yield s
    s.close()
