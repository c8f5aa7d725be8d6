"""What the `bridge` command says when something is wrong: an unreachable bridge, an
ambiguous event id, a configuration that loads with warnings or not at all. In-process through
the ``runner`` fixture, on real files; `send` talks to a real port of 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from bridge.events import Event
from bridge.providers import PROVIDERS
from bridge.store import open_store
from tests.support.app import ROUTES_YAML
from tests.support.cli import BridgeRunner
from tests.support.samples import SAMPLES, sample
from tests.support.servers import closed_port_url

BUILD = "appstoreconnect/build-upload-complete.json"
BUILD_ID = "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"

TWO_APPS = """\
sources:
  ios: {provider: appstoreconnect, secret: s}
  mac: {provider: appstoreconnect, secret: s}
routes:
  - name: any-build
    event: buildUploadStateUpdated
    dispatch: {repository: acme/apps, event_type: build}
"""

WARNED = """\
sources:
  beta: {provider: pgyer, token: t0123456789}
routes:
  - name: enriched-pgyer
    event: updateVersion
    enrich: true
    dispatch: {repository: acme/android, event_type: build}
"""


def build_event(source: str) -> Event:
    """The finished build upload of the samples, as received by ``source``."""
    return PROVIDERS["appstoreconnect"].parse(sample(BUILD), source=source)


def test_send_to_a_bridge_that_is_not_listening_says_where_it_tried(
    runner: BridgeRunner,
) -> None:
    url = closed_port_url()
    result = runner.invoke("send", "ios", str(SAMPLES / BUILD), "--url", url)
    assert result.exit_code == 1
    assert f"cannot reach {url}/webhooks/ios: " in result.output
    assert "Connection refused" in result.output


def test_replay_of_an_id_known_in_two_sources_asks_which_one(
    runner: BridgeRunner, environ: dict[str, str], tmp_path: Path
) -> None:
    routes = tmp_path / "two-apps.yaml"
    routes.write_text(TWO_APPS)
    with_two_apps = {"BRIDGE_ROUTES": str(routes)}
    store = open_store(environ["DATABASE_URL"])
    try:
        store.record_event(build_event("ios"), sample(BUILD), ["any-build"], now=1.0)
        store.record_event(build_event("mac"), sample(BUILD), ["any-build"], now=1.0)
    finally:
        store.close()

    ambiguous = runner.invoke("replay", BUILD_ID, env=with_two_apps)
    assert ambiguous.exit_code == 1
    assert f"event id '{BUILD_ID}' is in several sources (ios, mac)" in ambiguous.output
    assert "pick one with --source" in ambiguous.output

    one = runner.invoke("replay", BUILD_ID, "--source", "mac", env=with_two_apps)
    assert (one.exit_code, one.output.strip()) == (0, "queued 1 delivery again")


def test_check_prints_the_warnings_of_routes_yaml(runner: BridgeRunner, tmp_path: Path) -> None:
    routes = tmp_path / "warned.yaml"
    routes.write_text(WARNED)
    result = runner.invoke("--routes", str(routes), "check")
    assert result.exit_code == 0
    assert "warning: " in result.stderr
    assert "only App Store Connect events are enriched" in result.stderr
    assert "OK, 1 source(s), 1 route(s)" in result.stdout


def test_check_warns_when_routes_dispatch_without_github_credentials(
    runner: BridgeRunner, tmp_path: Path
) -> None:
    routes = tmp_path / "renders.yaml"  # the shared routes hold a template made to fail
    routes.write_text(ROUTES_YAML.replace('        missing: "{{ payload.not_there }}"\n', ""))
    result = runner.invoke("--routes", str(routes), "check", env={"BRIDGE_DRY_RUN": "0"})
    assert result.exit_code == 0
    assert "warning: no GitHub credentials (GITHUB_TOKEN or GITHUB_APP_*)" in result.stderr
    assert "dry run" not in result.output


def test_an_invalid_setting_is_one_line_and_exit_status_1(runner: BridgeRunner) -> None:
    result = runner.invoke("events", env={"BRIDGE_POLL_INTERVAL": "soon"})
    assert result.exit_code == 1
    assert "BRIDGE_POLL_INTERVAL" in result.output
    assert "Traceback" not in result.output
