"""Each target is paced under its service's documented rate limit, per process: a message
waits for its slot when it is close, and is retried later when it is not."""

from __future__ import annotations

import pytest

from bridge.errors import TransientSendError
from bridge.notify.client import Notifier
from bridge.notify.pacing import Pacer
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Target
from tests.fakes.chat import FakeChat


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_sliding_minute_per_target() -> None:
    clock = Clock()
    pacer = Pacer(clock)
    assert [pacer.reserve("dt", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.reserve("dt", 3) == 60.0  # the fourth waits for the first to leave the window
    pacer.release("dt")
    assert pacer.reserve("other", 3) == 0.0  # targets are paced apart
    clock.now += 30
    assert pacer.reserve("dt", 3) == 30.0
    clock.now += 31
    assert pacer.reserve("dt", 3) == 0.0  # the first left the window; the wait above holds one


def test_the_notifier_waits_for_a_near_slot_and_defers_a_far_one(fake_chat: FakeChat) -> None:
    clock = Clock()
    notifier = Notifier(clock=clock, sleep=clock.sleep)
    url = fake_chat.urls()["SLACK_WEBHOOK_URL"]
    target = Target("team", "slack", url=url, rate_limit=20)  # one slot every 3 s on average
    request = NotifyRequest("slack", "team", url, {"text": "hi"})
    try:
        for _ in range(20):
            notifier.send(request, target)
        clock.now += 57  # the first slot frees in 3 s: worth waiting for
        notifier.send(request, target)
        assert clock.slept == [pytest.approx(3.0)]
        slow = Target("slow", "slack", url=url, rate_limit=1)
        notifier.send(request, slow)
        with pytest.raises(TransientSendError, match="held back") as held:
            notifier.send(request, slow)  # the next slot is a minute away: retry later
        assert held.value.retry_after == pytest.approx(60.0)
        assert len(fake_chat.requests("slack")) == 22
    finally:
        notifier.close()


def test_a_429_holds_every_message_to_that_target(fake_chat: FakeChat) -> None:
    clock = Clock()
    notifier = Notifier(clock=clock, sleep=clock.sleep)
    url = fake_chat.urls()["SLACK_WEBHOOK_URL"]
    target = Target("team", "slack", url=url)
    request = NotifyRequest("slack", "team", url, {"text": "hi"})
    fake_chat.enqueue("slack", 429, "rate_limited", headers={"Retry-After": "30"})
    try:
        with pytest.raises(TransientSendError) as limited:
            notifier.send(request, target)
        assert limited.value.retry_after == 30.0
        with pytest.raises(TransientSendError, match="held back"):
            notifier.send(request, target)  # not sent: Slack asked for 30 s
        assert len(fake_chat.requests("slack")) == 1
        clock.now += 27
        notifier.send(request, target)  # 3 s away: waits, then sends
        assert clock.slept == [pytest.approx(3.0)]
        assert len(fake_chat.requests("slack")) == 2
    finally:
        notifier.close()
