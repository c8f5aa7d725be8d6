"""Leases between dispatchers (several gunicorn workers, several instances): an attempt that
outlives its lease does not overwrite what the dispatcher that took the delivery over does.
The dispatcher talks to the fake GitHub over real HTTP; its clock is the test's."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.routing.load import load_routes
from bridge.store import AttemptResult
from tests.fakes.github import FakeGitHub
from tests.support.dispatcher import DispatcherHarness

BUILD = "appstoreconnect/build-upload-complete.json"


@pytest.fixture
def harness(
    tmp_path: Path, environ: dict[str, str], fake_github: FakeGitHub
) -> Iterator[DispatcherHarness]:
    routes = load_routes(environ["BRIDGE_ROUTES"], environ)
    h = DispatcherHarness(tmp_path / "bridge.db", routes, fake_github.url)
    yield h
    h.close()


def test_an_attempt_that_outlived_its_lease_leaves_the_delivery_to_its_new_owner(
    harness: DispatcherHarness, fake_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    fake_github.enqueue(delay=1.0, match="dispatches$")  # accepted, but slowly
    harness.receive(BUILD)
    sending = threading.Thread(target=harness.dispatcher.run_once)
    sending.start()
    fake_github.wait_for_dispatches(1)  # in flight now
    harness.clock.now += harness.settings.lease_seconds + 1  # the lease runs out meanwhile
    [claim] = harness.store.claim_due(owner="other", now=harness.clock.now, lease=60, limit=1)
    with caplog.at_level(logging.WARNING, logger="bridge.delivery.dispatcher"):
        sending.join(10)
    assert not sending.is_alive()
    assert "lease lost before the attempt was recorded" in caplog.text
    # GitHub took the dispatch, yet the delivery stays with the dispatcher that holds it now:
    delivery = harness.only()
    assert (delivery.id, delivery.state) == (claim.delivery_id, "pending")
    done = AttemptResult("delivered", harness.clock.now, 5.0, 204, "204 No Content")
    assert harness.store.finish(claim.delivery_id, owner="other", result=done)
    assert harness.only().state == "delivered"


def test_a_delivery_taken_over_is_not_sent_again_by_its_first_owner(
    harness: DispatcherHarness, fake_github: FakeGitHub
) -> None:
    harness.receive(BUILD)
    assert (
        len(harness.store.claim_due(owner="other", now=harness.clock.now, lease=60, limit=1)) == 1
    )
    assert harness.dispatcher.run_once() == 0  # leased to "other": not due for anyone else
    assert fake_github.dispatches() == []
    harness.clock.advance(61)  # "other" died: its lease runs out
    assert harness.dispatcher.run_once() == 1
    assert harness.only().state == "delivered"
    assert len(fake_github.dispatches()) == 1
