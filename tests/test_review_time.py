"""Review times from stored state changes: Apple's sample cycle, rejections, withdrawals,
events without timestamps, and what `bridge events` shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.appstoreconnect.review_times import (
    APP_VERSION_EVENT,
    duration,
    review_times,
    stored_review,
)
from bridge.events import Instance
from bridge.intake.ingest import ingest
from bridge.routing.load import load_routes
from bridge.store import StateChange, Store
from tests.support.samples import sample

HOUR = 3600.0


def change(new: str, at: float, old: str | None = None, stamp: str | None = None) -> StateChange:
    return StateChange(APP_VERSION_EVENT, old, new, stamp, at)


def test_approved_cycle() -> None:
    times = review_times(
        [
            change("READY_FOR_REVIEW", 0),
            change("WAITING_FOR_REVIEW", 10),
            change("IN_REVIEW", 10 + 20 * HOUR),
            change("PENDING_DEVELOPER_RELEASE", 10 + 21 * HOUR),
            change("READY_FOR_DISTRIBUTION", 10 + 50 * HOUR),
        ]
    )
    assert times is not None
    assert (times.wait_seconds, times.review_seconds, times.total_seconds) == (
        20 * HOUR,
        HOUR,
        21 * HOUR,
    )
    assert times.decision == "PENDING_DEVELOPER_RELEASE"  # the decision, not the release
    assert times.describe() == "waited 20h · in review 1h · total 21h → PENDING_DEVELOPER_RELEASE"


def test_a_rejection_then_a_new_submission_starts_a_new_cycle() -> None:
    history = [
        change("WAITING_FOR_REVIEW", 0),
        change("IN_REVIEW", HOUR),
        change("REJECTED", 2 * HOUR),
    ]
    first = review_times(history)
    assert first is not None and (first.decision, first.total_seconds) == ("REJECTED", 2 * HOUR)
    second = review_times([*history, change("WAITING_FOR_REVIEW", 10 * HOUR)])
    assert second is not None
    assert (second.waiting_at, second.in_review_at, second.decision) == (10 * HOUR, None, None)
    assert second.describe() == "waiting for review"
    assert second.as_dict()["wait_seconds"] is None


def test_a_withdrawn_submission_ends_the_cycle() -> None:
    history = [change("WAITING_FOR_REVIEW", 0), change("DEVELOPER_REJECTED", HOUR)]
    assert review_times(history) is None
    # Resubmitted, but the new WAITING_FOR_REVIEW event was never received: review time only.
    later = review_times(
        [
            *history,
            change("IN_REVIEW", 5 * HOUR, old="WAITING_FOR_REVIEW"),
            change("METADATA_REJECTED", 6 * HOUR),
        ]
    )
    assert later is not None
    assert (later.wait_seconds, later.review_seconds, later.total_seconds) == (None, HOUR, None)
    assert later.describe() == "in review 1h → METADATA_REJECTED"


def test_apple_timestamps_order_the_changes_not_arrival() -> None:
    """An event recovered late (reconcile) still lands in its place in the timeline."""
    times = review_times(
        [
            change("IN_REVIEW", 100, stamp="2025-12-18T22:05:50.038Z"),
            change("PENDING_DEVELOPER_RELEASE", 101, stamp="2025-12-18T22:34:18.785Z"),
            change("WAITING_FOR_REVIEW", 102, stamp="2025-12-18T03:41:21.179Z"),  # arrived last
        ]
    )
    assert times is not None
    assert times.as_dict()["wait_seconds"] == 66269
    assert times.as_dict()["total_seconds"] == 67978


def test_other_events_and_no_cycle_give_nothing() -> None:
    assert review_times([]) is None
    assert review_times([StateChange("buildUploadStateUpdated", None, "COMPLETE", None, 1)]) is None
    assert review_times([change("PREPARE_FOR_SUBMISSION", 0)]) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (1709, "28m 29s"), (66269, "18h 24m"), (3 * 86400 + 7200, "3d 2h")],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_bridge_events_shows_review_times(
    store: Store, store_url: str, environ: dict[str, str], tmp_path: Path
) -> None:
    routes = load_routes(environ["BRIDGE_ROUTES"], environ)
    for name in ("waiting-for-review", "in-review", "pending-developer-release"):
        body = sample(f"appstoreconnect/app-version-{name}.json")
        ingest(store, routes, "ios", body, now=1_000_000.0)
    env = {**os.environ, **environ, "DATABASE_URL": store_url}
    listing = subprocess.run(
        [sys.executable, "-m", "bridge", "events"], env=env, capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert (
        "review: waited 18h 24m · in review 28m 29s · total 18h 52m → PENDING_DEVELOPER_RELEASE"
        in listing.stdout
    )
    as_json = subprocess.run(
        [sys.executable, "-m", "bridge", "events", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    first = json.loads(as_json.stdout.splitlines()[0])
    assert first["review"]["decision"] == "PENDING_DEVELOPER_RELEASE"
    assert first["review"]["review_seconds"] == 1709


def test_an_event_recovered_late_gets_its_own_cycle(store: Store, environ: dict[str, str]) -> None:
    """A REJECTED from the first cycle, taken in after the second cycle began (reconcile),
    still reports the first cycle."""
    routes = load_routes(environ["BRIDGE_ROUTES"], environ)

    def receive(name: str, event_id: str, stamp: str, old: str | None = None) -> None:
        document = json.loads(sample(f"appstoreconnect/app-version-{name}.json"))
        document["data"]["id"] = event_id
        document["data"]["attributes"]["timestamp"] = stamp
        ingest(store, routes, "ios", json.dumps(document).encode(), now=1_000_000.0)

    receive("waiting-for-review", "w1", "2025-12-01T00:00:00Z")
    receive("in-review", "i1", "2025-12-01T10:00:00Z")
    receive("waiting-for-review", "w2", "2025-12-05T00:00:00Z")
    receive("rejected", "r1", "2025-12-01T12:00:00Z")  # arrives last
    instance = Instance("appStoreVersions", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d")
    late = stored_review(store, event_type=APP_VERSION_EVENT, instance=instance, event_id="r1")
    assert late is not None
    assert (late.decision, late.wait_seconds, late.review_seconds) == ("REJECTED", 36000, 7200)
    now = stored_review(store, event_type=APP_VERSION_EVENT, instance=instance, event_id="w2")
    assert now is not None and (now.decision, now.in_review_at) == (None, None)
