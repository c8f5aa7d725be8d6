"""The outbox worker against a fake GitHub over real HTTP (PyGithub really talks to it).
The clock is injected so retry schedules are checked without waiting for them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.providers import PROVIDERS
from bridge.routing.load import load_routes
from tests.fakes.github import FakeGitHub
from tests.support.dispatcher import DispatcherHarness
from tests.support.samples import sample
from tests.support.servers import closed_port_url

GITHUB_TOKEN = "ghp_test_token_never_logged"


class Harness(DispatcherHarness):
    """The routes of tests/support/app.py, a personal access token, half-second timeouts."""

    def __init__(
        self, tmp_path: Path, environ: dict[str, str], api_url: str, **settings: object
    ) -> None:
        routes = load_routes(environ["BRIDGE_ROUTES"], environ)
        super().__init__(
            tmp_path / "outbox.db", routes, api_url, token=GITHUB_TOKEN, timeout=0.5,
            settings={"github_timeout": 0.5, **settings},
        )  # fmt: skip


@pytest.fixture
def harness(tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub) -> Iterator[Harness]:
    h = Harness(tmp_path, environ, fake_github.url)
    yield h
    h.close()


BUILD = "appstoreconnect/build-upload-complete.json"
READY = "appstoreconnect/app-version-ready-for-distribution.json"


def test_repository_dispatch_is_delivered(harness: Harness, fake_github: FakeGitHub) -> None:
    harness.receive(BUILD)
    assert harness.dispatcher.run_once() == 1
    [request] = fake_github.dispatches()
    assert request.path == "/repos/acme/ios/dispatches"
    assert request.headers["authorization"] == f"token {GITHUB_TOKEN}"
    delivery = harness.only()
    assert request.json == {
        "event_type": "asc-build-complete",
        "client_payload": {
            "source": "ios",
            "provider": "appstoreconnect",
            "event": "buildUploadStateUpdated",
            "event_id": "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d",
            "old_state": "PROCESSING",
            "new_state": "COMPLETE",
            "instance": {"type": "buildUploads", "id": "1f2c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
            "timestamp": None,
            "bridge": {"delivery_id": delivery.id, "route": "build-complete"},
        },
    }
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 204)
    assert harness.dispatcher.run_once() == 0  # nothing left, nothing sent twice
    assert len(fake_github.dispatches()) == 1


def test_fan_out_and_workflow_run_details(harness: Harness, fake_github: FakeGitHub) -> None:
    harness.receive(READY)
    assert harness.dispatcher.run_once() == 2
    paths = sorted(r.path for r in fake_github.dispatches())
    assert paths == [
        "/repos/acme/ios/actions/workflows/release.yml/dispatches",
        "/repos/acme/ios/dispatches",
    ]
    workflow = next(d for d in harness.deliveries() if d.route == "version-live")
    assert workflow.state == "delivered"
    assert workflow.last_status == 200
    assert workflow.run_url is not None and workflow.run_url.startswith(
        "https://github.com/acme/ios/actions/runs/"
    )


def test_workflow_204_without_run_details_is_delivered(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    fake_github.workflow_run_details = False
    harness.receive(READY)
    harness.dispatcher.run_once()
    workflow = next(d for d in harness.deliveries() if d.route == "version-live")
    assert (workflow.state, workflow.last_status, workflow.run_url) == ("delivered", 204, None)


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"status": 502}, 502),
        ({"status": 503}, 503),
        ({"status": 500}, 500),
        ({"delay": 2.0}, None),
    ],
    ids=["502", "503", "500", "timeout"],
)
def test_transient_failure_is_retried_with_backoff(
    harness: Harness, fake_github: FakeGitHub, fault: dict[str, float], status: int | None
) -> None:
    fake_github.enqueue(**fault)  # type: ignore[arg-type]
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    first = harness.only()
    assert (first.state, first.attempts, first.last_status) == ("pending", 1, status)
    assert first.last_error
    # First retry within seconds: 1 s ± 25 %.
    assert 0.75 <= first.next_attempt_at - harness.clock.now <= 1.25
    assert harness.dispatcher.run_once() == 0  # not due yet
    harness.clock.now += 1.3
    assert harness.dispatcher.run_once() == 1
    assert harness.only().state == "delivered"
    assert len(fake_github.dispatches()) == 2  # one per attempt: PyGithub does not retry inside


def test_connection_refused_is_transient(tmp_path: Path, environ: dict[str, str]) -> None:
    h = Harness(tmp_path, environ, closed_port_url())
    try:
        h.receive(BUILD)
        h.dispatcher.run_once()
        delivery = h.only()
        assert (delivery.state, delivery.last_status) == ("pending", None)
    finally:
        h.close()


def test_retry_after_is_honoured_and_pauses_all_sending(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    fake_github.enqueue(429, headers={"Retry-After": "120"}, body={"message": "slow down"})
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    delivery = harness.only()
    assert delivery.state == "pending"
    assert delivery.next_attempt_at - harness.clock.now >= 120
    harness.receive(READY)  # due now, but the token is rate limited: wait
    harness.clock.now += 60
    assert harness.dispatcher.run_once() == 0
    harness.clock.now += 61
    # Two minutes on, all three are backlog: paced, one per claim (bridge.github_limits).
    sent = 0
    while sent < 3:
        sent += harness.dispatcher.run_once()
        harness.clock.now += 1.2
    assert {d.state for d in harness.deliveries()} == {"delivered"}


def test_secondary_rate_limit_403_uses_reset_header(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    reset = int(time.time()) + 300
    fake_github.enqueue(
        403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        body={"message": "API rate limit exceeded"},
    )
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    delivery = harness.only()
    assert (delivery.state, delivery.last_status) == ("pending", 403)
    assert delivery.next_attempt_at - harness.clock.now >= 290


@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "not found"), (422, "Unprocessable"), (401, "credentials"), (403, "Contents: write")],
)
def test_permanent_failure_fails_at_once(
    harness: Harness, fake_github: FakeGitHub, status: int, words: str
) -> None:
    message = "Unprocessable Entity" if status == 422 else "Nope"
    fake_github.enqueue(status, body={"message": message})
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    delivery = harness.only()
    assert (delivery.state, delivery.last_status) == ("failed", status)
    assert words.lower() in (delivery.last_error or "").lower()
    harness.clock.now += 86400 * 2
    assert harness.dispatcher.run_once() == 0
    assert len(fake_github.dispatches()) == 1
    assert GITHUB_TOKEN not in (delivery.last_error or "")


def test_gives_up_after_the_horizon(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    h = Harness(tmp_path, environ, fake_github.url, retry_horizon=3600.0, retry_max_delay=600.0)
    try:
        fake_github.enqueue(502, times=100)
        h.receive(BUILD)
        for _ in range(30):
            h.dispatcher.run_once()
            if h.only().state != "pending":
                break
            h.clock.now = h.only().next_attempt_at
        delivery = h.only()
        assert delivery.state == "failed"
        assert "gave up after" in (delivery.last_error or "")
        assert "502" in (delivery.last_error or "")
        assert 6 <= delivery.attempts <= 15
    finally:
        h.close()


def test_replay_of_a_failed_delivery(harness: Harness, fake_github: FakeGitHub) -> None:
    fake_github.enqueue(404, body={"message": "Not Found"})
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    assert harness.only().state == "failed"
    assert harness.store.requeue_failed(now=harness.clock.now) == 1
    harness.dispatcher.run_once()
    delivery = harness.only()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)


def test_route_removed_from_routes_yaml_fails_with_reason(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    h = Harness(tmp_path, environ, fake_github.url)
    try:
        h.store.record_event(
            PROVIDERS["appstoreconnect"].parse(sample(BUILD), source="ios"), sample(BUILD), ["gone"],
            now=h.clock.now,
        )  # fmt: skip
        h.dispatcher.run_once()
        delivery = h.only()
        assert delivery.state == "failed"
        assert "route 'gone' is not in routes.yaml" in (delivery.last_error or "")
        assert fake_github.dispatches() == []
    finally:
        h.close()


def test_delivery_held_by_a_dead_dispatcher_is_taken_over_after_its_lease(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    harness.receive(BUILD)
    [claim] = harness.store.claim_due(
        owner="dead-process", now=harness.clock.now, lease=60, limit=1
    )
    assert harness.dispatcher.run_once() == 0
    harness.clock.now += 61
    assert harness.dispatcher.run_once() == 1
    assert harness.only().state == "delivered"
    assert claim.delivery_id == harness.only().id


def test_wake_sends_at_once_without_waiting_for_the_poll(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    harness.dispatcher.clock = time.time  # real time for the background thread
    harness.dispatcher.start()
    time.sleep(0.2)  # the thread is now idle, waiting up to poll_interval (30 s)
    harness.clock.now = time.time()
    harness.receive(BUILD)
    harness.dispatcher.wake()
    fake_github.wait_for_dispatches(
        1, timeout=10
    )  # far below the 30 s poll: only wake() explains it


def test_retention_prunes_finished_events_hourly(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    h = Harness(tmp_path, environ, fake_github.url, retention=7 * 86400.0)
    try:
        h.receive(BUILD)
        h.dispatcher.run_once()
        assert h.only().state == "delivered"
        assert h.dispatcher.prune_if_due() == 0  # a fresh event is kept
        h.clock.now += 8 * 86400
        assert h.dispatcher.prune_if_due() == 1
        assert h.deliveries() == []
        h.receive(READY)  # newer events, and pending ones, stay
        h.clock.now += 30 * 86400
        assert h.dispatcher.prune_if_due() == 0
        assert len(h.deliveries()) == 2
    finally:
        h.close()


def test_no_retention_prunes_nothing(harness: Harness, fake_github: FakeGitHub) -> None:
    harness.receive(BUILD)
    harness.dispatcher.run_once()
    harness.clock.now += 365 * 86400
    assert harness.dispatcher.prune_if_due() == 0
    assert harness.only().state == "delivered"


def test_github_outage_pauses_sending_and_probes_with_one_delivery(
    harness: Harness, fake_github: FakeGitHub
) -> None:
    for n in range(12):  # a backlog of 12 deliveries, GitHub down
        harness.receive(BUILD, event_id=f"evt-{n}")
        harness.clock.now += 0.001
    fake_github.enqueue(503, times=1000)
    start = harness.clock.now
    while harness.clock.now - start < 120:  # two minutes of outage, polled every 0.5 s
        harness.dispatcher.run_once()
        harness.clock.now += 0.5
    attempts = len(fake_github.dispatches())
    # Without the breaker: 12 deliveries x (1 s, 5 s, 30 s, 2 min schedule) ≈ 48 attempts.
    # With it: 3 failures, then one probe per pause (1, 2, 4 … 60 s) ≈ 3 + 4 + 7.
    assert attempts <= 16, attempts
    assert harness.dispatcher.in_outage

    fake_github.clear()  # GitHub is back
    harness.clock.now += 61
    while harness.dispatcher.run_once():
        harness.clock.now += 0.5
    harness.clock.now += 600  # every delivery's own retry time
    for _ in range(30):  # the backlog is paced: one claim every 1.2 s
        harness.dispatcher.run_once()
        harness.clock.now += 1.2
    assert not harness.dispatcher.in_outage
    assert {d.state for d in harness.deliveries()} == {"delivered"}
