"""The fastlane lanes' decisions (workflows-examples/fastlane/bridge_release.rb), run by Ruby
against the fake App Store Connect over real HTTP with a real ES256 token: which build goes
to App Review, which stays on TestFlight, which event is refused and why; and whether a
version is live before its release branch is merged.

Skipped when ``ruby`` is missing, unless ``BRIDGE_REQUIRE_RUBY`` is set (as ``.ci/run`` does,
after installing Debian's ``ruby``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect

ROOT = Path(__file__).resolve().parent.parent
DECIDE = ROOT / "tests" / "ruby" / "decide.rb"
APP = "1234567890"
UPLOAD = "1f2c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
VERSION_ID = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"


@pytest.fixture(scope="module")
def ruby() -> str:
    found = shutil.which("ruby")
    if found is None:
        message = "ruby is needed (apt-get install ruby)"
        if os.environ.get("BRIDGE_REQUIRE_RUBY"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def decide(
    ruby: str, fake: FakeAppStoreConnect, key: AscKey, command: str, **options: Any
) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "ASC_API_URL": fake.url,
        "ASC_KEY_ID": key.key_id,
        "ASC_ISSUER_ID": key.issuer_id,
        "ASC_PRIVATE_KEY": key.private_pem,
    }
    done = subprocess.run(
        [ruby, str(DECIDE), command, json.dumps(options)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert fake.auth_failures == []
    decision: dict[str, Any] = json.loads(done.stdout)
    return decision


def upload(fake: FakeAppStoreConnect, *, build: str = "139", state: str = "COMPLETE",
           platform: str = "IOS", version: str = "2.4") -> None:  # fmt: skip
    fake.add_resource({
        "data": {
            "type": "buildUploads", "id": UPLOAD,
            "attributes": {
                "cfBundleShortVersionString": version, "cfBundleVersion": build,
                "platform": platform,
                "state": {"state": state, "errors": [], "warnings": [], "infos": []},
            },
        }
    })  # fmt: skip


def builds(fake: FakeAppStoreConnect, *numbers: str, state: str = "VALID") -> None:
    """The builds of version 2.4 App Store Connect lists for the app."""
    data = [
        {"type": "builds", "id": f"build-{n.replace('.', '-')}",
         "attributes": {"version": n, "processingState": state, "expired": False}}
        for n in numbers
    ]  # fmt: skip
    query = {"filter[app]": APP, "filter[preReleaseVersion.version]": "2.4"}
    fake.add_listing("/v1/builds", {"data": data}, query=query)


def store_version(fake: FakeAppStoreConnect, state: str | None, version: str = "2.4") -> None:
    data = (
        [{"type": "appStoreVersions", "id": VERSION_ID,
          "attributes": {"platform": "IOS", "versionString": version, "appVersionState": state}}]
        if state else []
    )  # fmt: skip
    query = {"filter[platform]": "IOS", "filter[versionString]": version}
    fake.add_listing(f"/v1/apps/{APP}/appStoreVersions", {"data": data}, query=query)


@pytest.fixture
def asc(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey, ruby: str
) -> tuple[str, FakeAppStoreConnect, AscKey]:
    return ruby, fake_asc, asc_key


def submission(asc: tuple[str, FakeAppStoreConnect, AscKey], **extra: str) -> dict[str, Any]:
    ruby, fake, key = asc
    return decide(ruby, fake, key, "submission", app_id=APP, build_upload_id=UPLOAD, **extra)


Asc = tuple[str, FakeAppStoreConnect, AscKey]


def test_the_uploads_own_build_is_submitted(asc: Asc) -> None:
    upload(asc[1])
    builds(asc[1], "138", "139")
    store_version(asc[1], "PREPARE_FOR_SUBMISSION")
    decision = submission(asc, version="2.4", build_number="139")
    assert decision["action"] == "submit", decision
    assert (decision["version"], decision["build_number"], decision["build_id"]) == (
        "2.4", "139", "build-139",
    )  # fmt: skip
    assert decision["app_store_version_id"] == VERSION_ID


def test_a_build_uploaded_after_a_rejection_is_submitted(asc: Asc) -> None:
    upload(asc[1], build="140")
    builds(asc[1], "139", "140")
    store_version(asc[1], "REJECTED")
    decision = submission(asc)
    assert (decision["action"], decision["build_id"]) == ("submit", "build-140")


def test_a_version_that_moved_on_is_refused(asc: Asc) -> None:
    upload(asc[1])
    builds(asc[1], "139")
    store_version(asc[1], "WAITING_FOR_REVIEW")
    decision = submission(asc)
    assert decision["action"] == "refuse"
    assert decision["reason"] == (
        "Build 2.4 (139) not submitted: App Store version 2.4 is WAITING_FOR_REVIEW, it has moved on."
    )


def test_a_stale_event_for_an_older_build_is_refused(asc: Asc) -> None:
    upload(asc[1], build="9")
    builds(asc[1], "9", "10")  # 10 after 9, though "10" < "9" as text
    store_version(asc[1], "PREPARE_FOR_SUBMISSION")
    decision = submission(asc)
    assert decision["action"] == "refuse"
    assert "is not the newest build of 2.4: build 10 came after it" in decision["reason"]


def test_a_build_with_no_version_being_prepared_stays_on_testflight(asc: Asc) -> None:
    upload(asc[1])
    builds(asc[1], "139")
    store_version(asc[1], None)
    decision = submission(asc)
    assert decision["action"] == "skip"
    assert "stays on TestFlight" in decision["reason"]


@pytest.mark.parametrize(
    ("setup", "extra", "reason"),
    [
        ({"upload": {"state": "FAILED"}}, {}, 'the upload is "FAILED", not COMPLETE'),
        ({}, {"build_number": "138"}, "The event names build  (138) but build upload"),
        ({}, {"version": "2.5"}, "The event names build 2.5 () but build upload"),
        ({"builds": "PROCESSING"}, {}, "the build is PROCESSING, not VALID"),
        ({"no_build": True}, {}, "App Store Connect has no build 139 of version 2.4"),
        ({"upload": {"version": "2.4 beta"}}, {}, "unusable version"),
    ],
)
def test_mismatches_are_refused_with_the_reason(
    asc: Asc, setup: dict[str, Any], extra: dict[str, str], reason: str
) -> None:
    upload(asc[1], **setup.get("upload", {}))
    numbers = () if setup.get("no_build") else ("139",)
    builds(asc[1], *numbers, state=setup.get("builds", "VALID"))
    store_version(asc[1], "PREPARE_FOR_SUBMISSION")
    decision = submission(asc, **extra)
    assert decision["action"] == "refuse"
    assert reason in decision["reason"]


def test_a_build_for_another_platform_is_left_alone(asc: Asc) -> None:
    upload(asc[1], platform="MAC_OS")
    decision = submission(asc)
    assert decision["action"] == "skip"
    assert decision["reason"] == "Build 2.4 (139) is for MAC_OS: not submitted."


@pytest.mark.parametrize(
    ("state", "action"),
    [("READY_FOR_DISTRIBUTION", "release"), ("PENDING_DEVELOPER_RELEASE", "refuse"),
     ("IN_REVIEW", "refuse")],
)  # fmt: skip
def test_gitflow_release_merges_only_a_live_version(asc: Asc, state: str, action: str) -> None:
    ruby, fake, key = asc
    fake.add_resource({
        "data": {"type": "appStoreVersions", "id": VERSION_ID,
                 "attributes": {"versionString": "2.4", "appVersionState": state}}
    })  # fmt: skip
    decision = decide(ruby, fake, key, "live_version", app_store_version_id=VERSION_ID)
    assert (decision["action"], decision["version"], decision["state"]) == (action, "2.4", state)
    if action == "refuse":
        assert decision["reason"] == (
            f"App Store version 2.4 is {state}, not READY_FOR_DISTRIBUTION: not merging."
        )


def test_ids_that_are_not_app_store_connect_ids_never_reach_a_url(asc: Asc) -> None:
    ruby, fake, key = asc
    done = subprocess.run(
        [ruby, str(DECIDE), "live_version", json.dumps({"app_store_version_id": "../apps"})],
        env={"PATH": os.environ.get("PATH", ""), "ASC_API_URL": fake.url,
             "ASC_KEY_ID": key.key_id, "ASC_ISSUER_ID": key.issuer_id,
             "ASC_PRIVATE_KEY": key.private_pem},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "expected an App Store Connect id" in done.stderr
    assert fake.requests == []
