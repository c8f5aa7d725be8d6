"""The dispatcher woken by every stored event: while GitHub's budget is used up, a flood of
events does not make it run a claim (a write transaction) for each one; it gathers them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.delivery.wakes import Wakes
from bridge.routing.load import load_routes
from tests.fakes.github import FakeGitHub
from tests.support.dispatcher import DispatcherHarness

BUILD = "appstoreconnect/build-upload-complete.json"


def test_a_flood_of_wakes_while_the_budget_is_used_up_gathers_into_few_claims(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> None:
    routes = load_routes(environ["BRIDGE_ROUTES"], environ)
    harness = DispatcherHarness(
        tmp_path / "outbox.db", routes, fake_github.url,
        settings={"github_per_minute": 1, "github_per_hour": 1},
    )  # fmt: skip
    try:
        harness.receive(BUILD)
        assert harness.dispatcher.run_once() == 1  # the minute's one dispatch
        harness.receive(BUILD, event_id="waits-for-the-budget")
        claims = 0
        claim_due: Callable[..., Any] = harness.store.claim_due
        lock = threading.Lock()

        def counting(**kwargs: Any) -> Any:
            nonlocal claims
            with lock:
                claims += 1
            return claim_due(**kwargs)

        harness.store.claim_due = counting  # type: ignore[method-assign]
        harness.dispatcher.start()
        deadline = time.monotonic() + 0.5
        wakes = 0
        while time.monotonic() < deadline:  # an event stored every millisecond or so
            harness.dispatcher.wake()
            wakes += 1
            time.sleep(0.001)
        with lock:
            seen = claims
        # A handful of rounds (20, 40, 80, 160, 250 ms apart), where every wake used to run one.
        assert wakes > 200 and seen <= 40, (wakes, seen)
        assert len(fake_github.dispatches()) == 1  # the budget held
    finally:
        harness.close()


def test_only_a_flood_is_gathered_never_events_while_sending() -> None:
    wakes = Wakes(threading.Event())
    wakes.set()  # an event stored: its round found nothing to send (the budget is used up)
    wakes.wait(1.0)
    assert wakes.gathered == 0.0  # looked at at once
    # Events keep coming and nothing is sent: each further wake waits to gather, twice as long
    # each time, up to 250 ms.
    gathered = []
    for _ in range(6):
        wakes.set()
        wakes.wait(1.0)
        gathered.append(wakes.gathered)
    assert gathered == [0.02, 0.04, 0.08, 0.16, 0.25, 0.25]
    # A round sent something: events in quick succession, even woken rounds finding nothing
    # (another process's dispatcher took the delivery first), are looked at at once.
    wakes.sent()
    for _ in range(3):
        wakes.set()
        wakes.wait(1.0)
        assert wakes.gathered == 0.0
