"""The files users copy and deploy: routes.yaml, the workflow examples, the Procfile."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.providers import PROVIDERS
from bridge.routing.load import load_routes
from bridge.routing.matching import match
from bridge.routing.model import RepositoryDispatch, RoutesConfig
from tests.support.samples import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
ENV = {"ASC_WEBHOOK_SECRET": "s", "PGYER_WEBHOOK_TOKEN": "t"}


@pytest.fixture(scope="module")
def shipped() -> RoutesConfig:
    return load_routes(ROOT / "routes.yaml", ENV)


def test_shipped_routes_load_without_warnings(shipped: RoutesConfig) -> None:
    # (only the example placeholders: IOS_REPOSITORY and ANDROID_REPOSITORY are unset here)
    assert len(shipped.warnings) == len(shipped.placeholders) == 7
    assert set(shipped.sources) == {"ios-app", "android-beta"}


@pytest.mark.parametrize(
    ("source", "sample", "routes"),
    [
        ("ios-app", "appstoreconnect/build-upload-complete.json", ["submit-for-review"]),
        ("ios-app", "appstoreconnect/build-upload-failed.json", ["build-failed"]),
        (
            "ios-app",
            "appstoreconnect/app-version-ready-for-distribution.json",
            ["gitflow-release", "release-notes"],
        ),
        ("ios-app", "appstoreconnect/app-version-rejected.json", ["review-rejected"]),
        ("ios-app", "appstoreconnect/app-version-in-review.json", []),
        ("ios-app", "appstoreconnect/ping.json", []),
        ("android-beta", "pgyer/update-version.json", ["pgyer-new-build"]),
        ("android-beta", "pgyer/feedback.json", []),
    ],
)
def test_samples_route_as_documented(
    shipped: RoutesConfig, source: str, sample: str, routes: list[str]
) -> None:
    provider = PROVIDERS[shipped.sources[source].provider]
    event = provider.parse((SAMPLES / sample).read_bytes(), source=source)
    assert [r.name for r in match(shipped, event)] == routes


def test_example_workflow_listens_for_every_type_routes_yaml_sends(shipped: RoutesConfig) -> None:
    workflow = yaml.safe_load((ROOT / "workflows-examples/bridge-events.yml").read_text())
    listened = set(workflow[True]["repository_dispatch"]["types"])  # YAML 1.1 reads `on:` as True
    sent = {
        r.dispatch.event_type for r in shipped.routes if isinstance(r.dispatch, RepositoryDispatch)
    }
    assert sent == listened


def test_example_workflow_passes_payload_through_env_only() -> None:
    text = (ROOT / "workflows-examples/bridge-events.yml").read_text()
    run_blocks = text.split("run: |", 1)[1]
    assert "${{" not in run_blocks


def test_procfile_runs_gunicorn_with_the_redacting_config() -> None:
    procfile = (ROOT / "Procfile").read_text()
    assert procfile.startswith('web: gunicorn -c python:bridge.gunicorn_conf "bridge:create_app()"')


def test_schema_symlink_points_at_the_packaged_schema() -> None:
    link = ROOT / "routes.schema.json"
    assert link.resolve() == (ROOT / "bridge/routing/routes.schema.json").resolve()
    assert (
        "yaml-language-server: $schema=./routes.schema.json" in (ROOT / "routes.yaml").read_text()
    )
