"""App Store Connect refusing the API key (401/403) does not fail deliveries (they go without
details, and say delivered), so it is shown where operators look: a banner on the delivery
log, /readyz degraded with the reason, `bridge events`, and bridge_asc_key_refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from bridge import create_app
from bridge.cli import cli
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect, generate_asc_key
from tests.support.app import ROUTES_YAML, bridge
from tests.support.samples import sample, signed

ADMIN = {"Authorization": "Bearer admin-token-0123456789"}
UPLOAD = "appstoreconnect/build-upload-complete.json"


def environ_with(tmp_path: Path, fake_asc: FakeAppStoreConnect, key: AscKey) -> dict[str, str]:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        ROUTES_YAML.replace(
            "provider: appstoreconnect\n", "provider: appstoreconnect\n    enrich: true\n"
        )
    )
    return {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": "test-asc-secret-0123456789",
        "ASC_OLD_SECRET": "test-asc-old-secret",
        "PGYER_TOKEN": "test-pgyer-token-0123456789",
        "BRIDGE_DRY_RUN": "1",
        "BRIDGE_DISPATCHER": "0",
        "BRIDGE_ADMIN_TOKEN": ADMIN["Authorization"].split()[1],
        "ASC_KEY_ID": key.key_id,
        "ASC_ISSUER_ID": key.issuer_id,
        "ASC_PRIVATE_KEY": key.private_pem,
        "ASC_API_URL": fake_asc.url,
    }


@pytest.fixture
def refused(
    tmp_path: Path, fake_asc: FakeAppStoreConnect
) -> Iterator[tuple[Flask, dict[str, str]]]:
    """A bridge whose key App Store Connect does not know, after one enriched delivery."""
    fake_asc.load_samples()
    assert fake_asc.key is not None
    wrong = generate_asc_key(key_id=fake_asc.key.key_id, issuer_id=fake_asc.key.issuer_id)
    environ = environ_with(tmp_path, fake_asc, wrong)
    app = create_app(environ=environ)
    try:
        body = sample(UPLOAD)
        assert (
            app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code
            == 202
        )
        assert bridge(app).dispatcher.run_once() == 1
        assert fake_asc.auth_failures  # the fake really refused the token
        yield app, environ
    finally:
        bridge(app).close()


def test_readyz_is_degraded_with_the_reason(refused: tuple[Flask, dict[str, str]]) -> None:
    app, _ = refused
    response = app.test_client().get("/readyz")
    assert response.status_code == 200  # still taking webhooks and delivering
    answer = response.get_json()
    assert answer["status"] == "degraded"
    [reason] = answer["reasons"]
    assert reason.startswith("App Store Connect refused the API key (401): ")
    assert "ASC_KEY_ID" in reason


def test_the_delivery_log_shows_a_banner(refused: tuple[Flask, dict[str, str]]) -> None:
    app, _ = refused
    page = app.test_client().get("/deliveries", headers=ADMIN).get_data(as_text=True)
    assert "App Store Connect refuses the API key." in page
    assert "Deliveries are sent without details" in page


def test_bridge_events_warns(refused: tuple[Flask, dict[str, str]]) -> None:
    _, environ = refused
    result = CliRunner().invoke(cli, ["events"], env=environ)
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: App Store Connect refused the API key (401): ")
    assert "buildUploadStateUpdated" in result.stdout


def test_metrics_report_the_refusal(refused: tuple[Flask, dict[str, str]]) -> None:
    app, _ = refused
    text = app.test_client().get("/metrics", headers=ADMIN).get_data(as_text=True)
    assert "\nbridge_asc_key_refused 1.0\n" in text


def test_a_working_key_clears_it(tmp_path: Path, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.load_samples()
    assert fake_asc.key is not None
    app = create_app(environ=environ_with(tmp_path, fake_asc, fake_asc.key))
    try:
        client = app.test_client()
        body = sample(UPLOAD)
        assert client.post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
        assert bridge(app).dispatcher.run_once() == 1
        assert client.get("/readyz").get_json() == {"status": "ready"}
        assert "refuses the API key" not in client.get("/deliveries", headers=ADMIN).get_data(
            as_text=True
        )
        metrics = client.get("/metrics", headers=ADMIN).get_data(as_text=True)
        assert "\nbridge_asc_key_refused 0.0\n" in metrics
    finally:
        bridge(app).close()
