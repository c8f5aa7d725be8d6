"""Enrichment of TestFlight feedback: the submission with its build (``include=build``), the
build's pre-release version and the crash log's first lines, against the fake App Store
Connect; a secondary fact that cannot be had leaves the rest of the details intact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.appstoreconnect.enrichment import CRASH_LOG_LINES
from bridge.routing.load import load_routes
from tests.fakes.appstoreconnect import FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.asc import asc_client_for
from tests.support.dispatcher import DispatcherHarness
from tests.support.samples import ASC_SECRET

CRASH = "appstoreconnect/beta-feedback-crash.json"
SUBMISSION = "AHq3vT5bWk9xLmN2pR7sYcE"  # the sample's instance
BUILD_ID = "feedback-build-1"
ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: ${ASC_SECRET}
    enrich: true
routes:
  - name: crash-report
    source: ios
    event: betaFeedbackCrashSubmissionCreated
    dispatch:
      repository: acme/ios
      event_type: asc-crash
"""
LOG = "".join(f"frame {n}: MyApp.swift:{n}\n" for n in range(100))


def serve_submission(fake: FakeAppStoreConnect, *, crash_log: bool = True) -> None:
    build = {"type": "builds", "id": BUILD_ID, "attributes": {"version": "57"}}
    fake.add_resource(
        {
            "data": {
                "type": "betaFeedbackCrashSubmissions",
                "id": SUBMISSION,
                "attributes": {
                    "comment": "It crashed when I tapped Save",
                    "email": "tester@example.com",
                    "deviceModel": "iPhone16,1",
                    "osVersion": "18.2",
                    "appPlatform": "IOS",
                    "createdDate": "2025-12-20T10:14:30.000Z",
                },
                "relationships": {"build": {"data": {"type": "builds", "id": BUILD_ID}}},
            },
            "included": [build],
        },
        related={
            "crashLog": {
                "data": {"type": "betaCrashLogs", "id": "log-1", "attributes": {"logText": LOG}}
            }
        }
        if crash_log
        else None,
    )
    fake.add_resource(
        {"data": build},
        related={
            "preReleaseVersion": {
                "data": {
                    "type": "preReleaseVersions",
                    "id": "p1",
                    "attributes": {"version": "2.3.0"},
                }
            }
        },
    )


@pytest.fixture
def harness(
    tmp_path: Path, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> Iterator[DispatcherHarness]:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES)
    routes = load_routes(path, {"ASC_SECRET": ASC_SECRET})
    assert fake_asc.key is not None
    client = asc_client_for(fake_asc, fake_asc.key)
    h = DispatcherHarness(tmp_path / "bridge.db", routes, fake_github.url, asc=client)
    yield h
    h.close()
    client.close()


def sent_details(fake_github: FakeGitHub) -> dict[str, Any]:
    [dispatch] = fake_github.dispatches()
    details = dispatch.json["client_payload"]["details"]
    assert isinstance(details, dict)
    return details


def test_a_crash_report_carries_version_build_and_the_top_of_its_crash_log(
    harness: DispatcherHarness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    serve_submission(fake_asc)
    harness.receive(CRASH)
    assert harness.dispatcher.run_once() == 1
    details = sent_details(fake_github)
    assert details.pop("fetched_at").endswith("Z")  # when the details were fetched (UTC)
    assert details == {
        "kind": "crash",
        "version": "2.3.0",
        "build_number": "57",
        "comment": "It crashed when I tapped Save",
        "email": "tester@example.com",
        "device_model": "iPhone16,1",
        "os_version": "18.2",
        "app_platform": "IOS",
        "created": "2025-12-20T10:14:30.000Z",
        "screenshots": [],
        "crash_log": "".join(LOG.splitlines(keepends=True)[:CRASH_LOG_LINES]),
    }
    asked = [r.path for r in fake_asc.requests]
    assert asked == [
        f"/v1/betaFeedbackCrashSubmissions/{SUBMISSION}",
        f"/v1/builds/{BUILD_ID}/preReleaseVersion",
        f"/v1/betaFeedbackCrashSubmissions/{SUBMISSION}/crashLog",
    ]
    assert fake_asc.requests[0].args.get("include") == "build"


def test_a_missing_crash_log_leaves_the_other_details(
    harness: DispatcherHarness, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    serve_submission(fake_asc, crash_log=False)
    harness.receive(CRASH)
    assert harness.dispatcher.run_once() == 1
    details = sent_details(fake_github)
    assert details["crash_log"] is None
    assert (details["version"], details["build_number"]) == ("2.3.0", "57")
