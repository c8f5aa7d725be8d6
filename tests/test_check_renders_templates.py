"""`bridge check` renders every route's templates against the recorded webhooks of the event
types it matches, through the dispatcher's own rendering, and fails on what cannot render;
`bridge simulate` exits 1 when a matched route cannot be rendered."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from bridge.cli import cli
from bridge.delivery.template_check import check_templates, webhook_samples
from bridge.routing.load import load_routes
from tests.support.samples import SAMPLES

HEAD = """\
sources:
  ios-app:
    provider: appstoreconnect
    secret: s3cret
  beta:
    provider: pgyer
    token: t0ken
routes:
"""


def routes_file(tmp_path: Path, routes: str) -> Path:
    path = tmp_path / "routes.yaml"
    path.write_text(HEAD + textwrap.dedent(routes))
    return path


def check(path: Path, tmp_path: Path) -> Result:
    env = {"BRIDGE_ROUTES": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    return CliRunner().invoke(cli, ["check"], env=env)


TYPO = """\
  - name: release
    event: appStoreVersionAppVersionStateUpdated
    to: READY_FOR_DISTRIBUTION
    dispatch:
      repository: team/ios
      workflow: release.yml
      ref: main
      inputs:
        version_id: "{{ event.instanse.id }}"
"""


def test_a_template_typo_fails_check_naming_route_sample_and_name(tmp_path: Path) -> None:
    result = check(routes_file(tmp_path, TYPO), tmp_path)
    assert result.exit_code == 1
    assert (
        "error: route release: with appstoreconnect/app-version-ready-for-distribution.json: "
        "inputs.version_id: UndefinedError: 'dict object' has no attribute 'instanse'"
    ) in result.output
    assert "renderings failed: each would fail its delivery" in result.output
    assert ": OK," not in result.output
    fixed = check(routes_file(tmp_path, TYPO.replace("instanse", "instance")), tmp_path)
    assert fixed.exit_code == 0, fixed.output
    assert "templates: 8 rendering(s) against the recorded webhooks" in fixed.output


def test_only_the_shapes_a_route_receives_are_rendered(tmp_path: Path) -> None:
    # payload.device_type exists only in Pgyer bodies: a Pgyer-only route renders fine.
    routes = """\
      - name: pgyer
        source: beta
        event: updateVersion
        dispatch:
          repository: team/android
          event_type: new-build
          client_payload: {platform: "{{ payload.device_type }}"}
    """
    report = check_templates(load_routes(routes_file(tmp_path, routes), {}), SAMPLES)
    assert report.failures == ()
    assert report.rendered == 1
    anything = routes.replace("source: beta", "source: [beta, ios-app]").replace(
        "event: updateVersion", 'event: "*"'
    )
    report = check_templates(load_routes(routes_file(tmp_path, anything), {}), SAMPLES)
    failed = {f.sample.split("/")[0] for f in report.failures}
    assert failed == {"appstoreconnect"}  # App Store Connect bodies have no device_type


def test_enriching_routes_see_the_recorded_api_answer_as_details(tmp_path: Path) -> None:
    routes = """\
      - name: built
        source: ios-app
        event: buildUploadStateUpdated
        enrich: true
        dispatch:
          repository: team/ios
          event_type: built
          client_payload: {version: "{{ details.cfBundleShortVersionString }}"}
    """
    report = check_templates(load_routes(routes_file(tmp_path, routes), {}), SAMPLES)
    assert report.failures == ()
    assert report.rendered == 2  # build-upload-complete and build-upload-failed
    typo = routes.replace("cfBundleShortVersionString", "cfBundleShortVersion")
    report = check_templates(load_routes(routes_file(tmp_path, typo), {}), SAMPLES)
    assert len(report.failures) == 2


def test_event_types_without_a_recorded_webhook_are_named(tmp_path: Path) -> None:
    routes = """\
      - name: beta-state
        source: ios-app
        event: buildBetaDetailExternalBuildStateUpdated
        dispatch: {repository: team/ios, event_type: beta}
    """
    report = check_templates(load_routes(routes_file(tmp_path, routes), {}), SAMPLES)
    assert report.unchecked == ("beta-state: buildBetaDetailExternalBuildStateUpdated",)


def test_without_the_source_tree_the_provider_example_is_used(tmp_path: Path) -> None:
    [(name, body)] = webhook_samples("appstoreconnect", tmp_path / "nowhere")
    assert name == "appstoreconnect example"
    assert json.loads(body)["data"]["type"] == "buildUploadStateUpdated"
    assert all(
        not n.split("/")[1].startswith("api-") for n, _ in webhook_samples("appstoreconnect")
    )


def test_simulate_exits_1_when_a_template_fails(tmp_path: Path) -> None:
    path = routes_file(tmp_path, TYPO)
    env = {"BRIDGE_ROUTES": str(path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    body = str(SAMPLES / "appstoreconnect" / "app-version-ready-for-distribution.json")
    result = CliRunner().invoke(cli, ["simulate", "ios-app", body], env=env)
    assert result.exit_code == 1
    assert "Error: cannot render release: the delivery would fail" in result.stderr
    assert "instanse" in json.loads(result.stdout)["routes"][0]["error"]
