"""What a body would do (``bridge simulate``, the payload tester): matches, requests, and why
the other routes do not match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.delivery.preview import simulate
from bridge.errors import PayloadError, UnknownSourceError
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from tests.support.samples import sample

ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: s}
routes:
  - name: complete-on-main-team
    event: buildUploadStateUpdated
    to: COMPLETE
    when: {data.attributes.team: [main, core]}
    dispatch: {repository: acme/ios, event_type: complete}
  - name: any-build
    event: buildUploadStateUpdated
    dispatch: {repository: acme/ios, event_type: build}
"""


@pytest.fixture
def routes(tmp_path: Path) -> RoutesConfig:
    (tmp_path / "routes.yaml").write_text(ROUTES)
    return load_routes(tmp_path / "routes.yaml", {})


def test_a_when_condition_that_fails_is_explained(routes: RoutesConfig) -> None:
    result = simulate(routes, "ios", sample("appstoreconnect/build-upload-complete.json"))
    assert [m.route for m in result.matched] == ["any-build"]
    assert result.matched[0].request is not None
    assert result.unmatched == (
        (
            "complete-on-main-team",
            ("when data.attributes.team is None, the route wants 'main' or 'core'",),
        ),
    )


def test_every_failing_criterion_is_listed_and_a_match_has_none(routes: RoutesConfig) -> None:
    body: dict[str, Any] = {"data": {"type": "buildUploadStateUpdated", "id": "x",
                     "attributes": {"oldState": "PROCESSING", "newState": "FAILED", "team": "core"}}}  # fmt: skip
    result = simulate(routes, "ios", json.dumps(body).encode())
    assert dict(result.unmatched) == {
        "complete-on-main-team": ("to is 'FAILED', the route wants 'COMPLETE'",)
    }
    body["data"]["attributes"]["newState"] = "COMPLETE"
    assert simulate(routes, "ios", json.dumps(body).encode()).unmatched == ()


def test_as_dict_is_the_cli_output(routes: RoutesConfig) -> None:
    result = simulate(routes, "ios", sample("appstoreconnect/build-upload-complete.json"))
    output = result.as_dict()
    assert set(output) == {"event", "routes", "not_matched"}
    assert [r["route"] for r in output["routes"]] == ["any-build"]
    assert output["routes"][0]["request"]["body"]["event_type"] == "build"


def test_unknown_source_and_bad_body_raise(routes: RoutesConfig) -> None:
    with pytest.raises(UnknownSourceError, match="known: ios"):
        simulate(routes, "android", b"{}")
    with pytest.raises(PayloadError):
        simulate(routes, "ios", b"[]")
