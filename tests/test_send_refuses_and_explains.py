"""`bridge send` refuses what no provider posts (an App Store Connect API answer from
tests/samples is not a webhook), says plainly when nothing listens at the URL, and with
--secret (or BRIDGE_SEND_SECRET) needs none of routes.yaml's secrets."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from bridge.cli import cli
from bridge.providers.signatures import apple_signature
from tests.support.samples import SAMPLES
from tests.support.servers import closed_port_url

ROOT = Path(__file__).parent.parent
API_ANSWER = str(SAMPLES / "appstoreconnect" / "api-buildUploads-complete.json")
WEBHOOK = SAMPLES / "appstoreconnect" / "build-upload-complete.json"


def env(tmp_path: Path) -> dict[str, str]:
    return {
        "BRIDGE_ROUTES": str(ROOT / "routes.yaml"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
    }


def test_an_api_answer_is_not_sent_as_a_webhook(tmp_path: Path, httpserver: HTTPServer) -> None:
    args = ["send", "ios-app", API_ANSWER, "--url", httpserver.url_for("/"), "--secret", "s"]
    result = CliRunner().invoke(cli, args, env=env(tmp_path))
    assert result.exit_code == 1
    assert (
        "'buildUploads' is not an event type appstoreconnect sends: is this an API answer "
        "rather than a webhook? (--any-type sends it anyway)"
    ) in result.output
    assert httpserver.log == []
    httpserver.expect_request("/webhooks/ios-app", method="POST").respond_with_json({}, 202)
    forced = CliRunner().invoke(cli, [*args, "--any-type"], env=env(tmp_path))
    assert forced.exit_code == 0, forced.output
    assert len(httpserver.log) == 1


def test_a_stopped_server_is_named_plainly(tmp_path: Path) -> None:
    url = closed_port_url()
    result = CliRunner().invoke(
        cli, ["send", "ios-app", str(WEBHOOK), "--url", url, "--secret", "s"], env=env(tmp_path)
    )
    assert result.exit_code == 1
    assert f"Error: cannot reach {url.rstrip('/')}/webhooks/ios-app: Connection refused" in (
        result.output
    )
    assert "urlopen error" not in result.output


def test_the_send_secret_from_the_environment_signs_without_routes_secrets(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    body = WEBHOOK.read_bytes()
    httpserver.expect_request(
        "/webhooks/ios-app",
        method="POST",
        headers={"X-Apple-Signature": apple_signature(body, "from-env")},
    ).respond_with_json({"status": "accepted"}, 202)
    environ = {**env(tmp_path), "BRIDGE_SEND_SECRET": "from-env"}  # no ASC_WEBHOOK_SECRET
    result = CliRunner().invoke(
        cli, ["send", "ios-app", str(WEBHOOK), "--url", httpserver.url_for("/")], env=environ
    )
    assert result.exit_code == 0, result.output
    assert "→ 202" in result.output
