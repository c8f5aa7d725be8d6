"""The app as the tests run it: a routes.yaml covering every dispatch shape, a SQLite file in
a temporary folder, the test secrets, dry run, and the dispatcher thread off (tests call
``bridge(app).dispatcher.run_once()`` themselves).

``make_app(tmp_path, BRIDGE_ADMIN_TOKEN=…)`` builds one with more variables; ``close_app``
stops what it started. The ``app``, ``client`` and ``environ`` fixtures (tests/conftest.py)
are this, per test.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from bridge import create_app
from bridge.services import Services
from tests.support.samples import ASC_OLD_SECRET, ASC_SECRET, PGYER_TOKEN

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


def write_routes(directory: Path) -> Path:
    """``directory/routes.yaml`` with :data:`ROUTES_YAML`."""
    path = directory / "routes.yaml"
    path.write_text(ROUTES_YAML)
    return path


def bridge_environ(directory: Path) -> dict[str, str]:
    """The environment of a bridge under test, its files in ``directory``: dry run,
    dispatcher thread off (tests drive it)."""
    return {
        "BRIDGE_ROUTES": str(write_routes(directory)),
        "DATABASE_URL": f"sqlite:///{directory / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "ASC_OLD_SECRET": ASC_OLD_SECRET,
        "PGYER_TOKEN": PGYER_TOKEN,
        "BRIDGE_DRY_RUN": "1",
        "BRIDGE_DISPATCHER": "0",
    }


def make_app(directory: Path, **env: str) -> Flask:
    """An app on :func:`bridge_environ` of ``directory``, ``env`` added or overriding; close
    it with :func:`close_app`."""
    return create_app(environ={**bridge_environ(directory), **env})


def bridge(app: Flask) -> Services:
    """What the app holds: settings, routes, store, dispatcher, metrics, reconciler."""
    state: Services = app.extensions["bridge"]
    return state


def close_app(app: Flask) -> None:
    """Stop the app's background work and close its store (and whatever else it built)."""
    bridge(app).close()
