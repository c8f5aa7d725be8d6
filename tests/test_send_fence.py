"""The lease fence runs inside the GitHub client's one-request-at-a-time lock, right before the
request goes out: an attempt that waited behind another send and lost its lease meanwhile
sends nothing."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github import GitHubClient
from bridge.delivery.leases import LeaseLostError
from tests.fakes.github import FakeGitHub

SLOW = DispatchRequest("repository_dispatch", "acme/ios", {"event_type": "slow"})
LATE = DispatchRequest("repository_dispatch", "acme/ios", {"event_type": "late"})


def test_the_fence_runs_after_the_send_ahead_and_can_stop_this_one(
    fake_github: FakeGitHub,
) -> None:
    fake_github.enqueue(204, delay=0.5, match="/dispatches$")  # the first send is slow
    client = GitHubClient(api_url=fake_github.url, token="ghp_fence_test", timeout=5)
    fenced_at: list[float] = []
    first_done: list[float] = []

    def lost() -> None:
        fenced_at.append(time.monotonic())
        raise LeaseLostError("taken over while waiting")

    def first() -> None:
        client.dispatch(SLOW)
        first_done.append(time.monotonic())

    try:
        ahead = threading.Thread(target=first)
        ahead.start()
        time.sleep(0.1)  # the slow send holds the credential's lock now
        with pytest.raises(LeaseLostError):
            client.dispatch(LATE, before_send=lost)
        ahead.join(5)
    finally:
        client.close()
    assert fenced_at and first_done
    assert fenced_at[0] >= first_done[0] - 0.05  # checked once the lock was free, not before
    assert [r.json["event_type"] for r in fake_github.dispatches()] == ["slow"]


def test_a_fence_that_passes_lets_the_request_go(fake_github: FakeGitHub) -> None:
    client = GitHubClient(api_url=fake_github.url, token="ghp_fence_test", timeout=5)
    calls: list[str] = []
    try:
        client.dispatch(LATE, before_send=lambda: calls.append("fence"))
    finally:
        client.close()
    assert calls == ["fence"]
    assert [r.json["event_type"] for r in fake_github.dispatches()] == ["late"]
