"""Messages that say exactly what is wrong and what to do: every missing App Store Connect
variable reads as "all of these", a key given by path is named by its path, the routes file
is named by its path, half a GitHub App is named as such, --json errors are JSON, reconcile
with nothing to read exits 1, and `bridge events` finds part of an id and names an unknown
source."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.errors import AscTransientError
from bridge.cli import cli
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.services import build_services
from bridge.store import open_store
from tests.fakes.appstoreconnect import FakeAppStoreConnect, generate_asc_key
from tests.support.samples import sample, signed
from tests.support.servers import closed_port_url


def rsa_key_pem() -> str:
    """An RSA key: a valid PEM private key, but not the EC P-256 key App Store Connect issues."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_the_missing_api_key_variables_read_as_all_of_them() -> None:
    with pytest.raises(ConfigError) as caught:
        AscClient.from_settings(Settings.from_env({"ASC_KEY_ID": "K"}))
    assert str(caught.value) == (
        "the App Store Connect API key is not configured: set ASC_ISSUER_ID and "
        "ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)"
    )


def test_a_wrong_key_file_is_named_by_its_path(tmp_path: Path) -> None:
    key = tmp_path / "AuthKey.p8"
    key.write_text(rsa_key_pem())
    env = {"ASC_KEY_ID": "K", "ASC_ISSUER_ID": "I", "ASC_PRIVATE_KEY_PATH": str(key)}
    with pytest.raises(ConfigError) as caught:
        AscClient.from_settings(Settings.from_env(env))
    assert str(caught.value) == (
        f"the key at ASC_PRIVATE_KEY_PATH={str(key)!r} is not an App Store Connect key "
        "(an EC P-256 .p8 private key)"
    )


def test_an_unreachable_app_store_connect_is_named_by_its_url(asc_key_pem: str) -> None:
    url = closed_port_url()
    client = AscClient(api_url=url, key_id="K", issuer_id="I", private_key=asc_key_pem)
    try:
        with pytest.raises(AscTransientError) as caught:
            client.get("/v1/apps")
    finally:
        client.close()
    assert f"cannot reach App Store Connect at {url} (ConnectionError)" in caught.value.message


@pytest.fixture
def asc_key_pem() -> str:
    return generate_asc_key().private_pem


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "{path} dispatches to GitHub but no credentials are set"),
        (
            {"GITHUB_APP_ID": "12"},
            "GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY is not: a GitHub App needs both",
        ),
        (
            {"GITHUB_APP_PRIVATE_KEY": "pem"},
            "GITHUB_APP_PRIVATE_KEY is set but GITHUB_APP_ID is not: a GitHub App needs both",
        ),
    ],
)
def test_github_credentials_messages(
    environ: dict[str, str], tmp_path: Path, given: dict[str, str], message: str
) -> None:
    mine = tmp_path / "my-routes.yaml"
    mine.write_text(Path(environ["BRIDGE_ROUTES"]).read_text())
    env = {**environ, "BRIDGE_DRY_RUN": "0", "BRIDGE_ROUTES": str(mine), **given}
    with build_services(env) as services, pytest.raises(ConfigError) as caught:
        services.check_configuration()
    assert str(caught.value).startswith(message.format(path=mine))


def test_json_commands_print_errors_as_json(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "events", "--json"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert json.loads(done.stderr)["error"].startswith("no database at ")
    plain = subprocess.run(
        [sys.executable, "-m", "bridge", "events"], env=env, capture_output=True, text=True
    )
    assert plain.stderr.startswith("Error: no database at ")


def test_events_finds_part_of_an_id_and_names_an_unknown_source(
    app: Flask, environ: dict[str, str]
) -> None:
    body = sample("appstoreconnect/build-upload-complete.json")
    event_id = json.loads(body)["data"]["id"]
    assert app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code
    part = CliRunner().invoke(cli, ["events", "--id", event_id[:8]], env=environ)
    assert event_id in part.output
    unknown = CliRunner().invoke(cli, ["events", "--source", "nosuch"], env=environ)
    assert unknown.exit_code == 1
    assert "unknown source 'nosuch' (sources in " in unknown.output
    assert ": ios, beta)" in unknown.output
    known = CliRunner().invoke(cli, ["events", "--source", "beta"], env=environ)
    assert known.output.strip() == "no events"


def test_reconcile_with_no_webhook_id_exits_1(
    tmp_path: Path, fake_asc: FakeAppStoreConnect
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "sources:\n  ios:\n    provider: appstoreconnect\n    secret: s\nroutes: []\n"
    )
    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    open_store(url).close()
    assert fake_asc.key is not None
    env = {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": url,
        "ASC_KEY_ID": fake_asc.key.key_id,
        "ASC_ISSUER_ID": fake_asc.key.issuer_id,
        "ASC_PRIVATE_KEY": fake_asc.key.private_pem,
        "ASC_API_URL": fake_asc.url,
    }
    result = CliRunner().invoke(cli, ["asc", "reconcile"], env=env)
    assert result.exit_code == 1
    assert "Error: nothing reconciled: no `webhook_id` in routes.yaml" in result.output
