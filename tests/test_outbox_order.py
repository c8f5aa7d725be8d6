"""Two dispatchers on one database (SQLite and PostgreSQL), against the fake GitHub and the
fake App Store Connect over real HTTP:

- deliveries of one route about one version go out in the order Apple's timestamps give,
  even when the first one meets a 502, while other versions are not held back;
- an attempt that outlives its lease (a slow App Store Connect) keeps it, so no other
  dispatcher sends the same delivery; one whose lease was taken over does not send.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.enrichment import Enricher
from bridge.config import Settings
from bridge.delivery.context import ContextBuilder
from bridge.delivery.dispatcher import Dispatcher
from bridge.delivery.github import GitHubClient
from bridge.providers import appstoreconnect
from bridge.routing.load import load_routes
from bridge.routing.matching import match
from bridge.routing.model import RoutesConfig
from bridge.store import DeliveryRecord, Store, open_store
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect
from tests.fakes.github import FakeGitHub
from tests.support.samples import sample

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secret: s3cret
routes:
  - name: version-state
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    enrich: {enrich}
    dispatch:
      repository: acme/ios
      event_type: version-state
      client_payload:
        version: "{{{{ event.instance.id }}}}"
        state: "{{{{ event.new_state }}}}"
"""
V1 = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"  # the sample's version (served by the fake ASC)
V2 = "11111111-2222-4333-8444-555555555555"


def version_event(event_id: str, version: str, old: str, new: str, timestamp: str) -> bytes:
    payload = json.loads(sample("appstoreconnect/app-version-pending-developer-release.json"))
    data = payload["data"]
    data["id"] = event_id
    data["attributes"] = {"oldValue": old, "newValue": new, "timestamp": timestamp}
    data["relationships"]["instance"]["data"]["id"] = version
    return json.dumps(payload).encode()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Worker:
    """One dispatcher with a store of its own (another process, as far as the database sees)."""

    store: Store
    client: GitHubClient
    dispatcher: Dispatcher
    asc: AscClient | None

    def close(self) -> None:
        self.dispatcher.stop()
        self.client.close()
        if self.asc is not None:
            self.asc.close()
        self.store.close()


class Deployment:
    def __init__(
        self,
        store_url: str,
        routes: RoutesConfig,
        github_url: str,
        *,
        clock: Callable[[], float],
        lease: float,
        asc: Callable[[], AscClient] | None = None,
    ) -> None:
        self.routes = routes
        settings = Settings.from_env({}).with_overrides(
            {"lease_seconds": lease, "dispatch_concurrency": 1, "poll_interval": 30.0}
        )
        self.workers: list[Worker] = []
        for _ in range(2):
            store = open_store(store_url, pool_size=4)
            client = GitHubClient(api_url=github_url, token="ghp_test", timeout=5.0)
            asc_client = asc() if asc is not None else None
            contexts = ContextBuilder(
                facts=store, routes=routes, enricher=Enricher(asc_client, store)
            )
            dispatcher = Dispatcher(
                store=store, routes=routes, sender=client, settings=settings,
                contexts=contexts, clock=clock,
            )  # fmt: skip
            self.workers.append(Worker(store, client, dispatcher, asc_client))

    def receive(self, body: bytes, *, now: float) -> None:
        event = appstoreconnect.parse(body, source="ios")
        names = [r.name for r in match(self.routes, event)]
        self.workers[0].store.record_event(event, body, names, now=now)

    def deliveries(self) -> list[DeliveryRecord]:
        events = self.workers[0].store.recent_events(limit=50)
        return [d for e in events for d in e.deliveries]

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def sent(fake_github: FakeGitHub) -> list[tuple[str, str]]:
    """(version, state) of every dispatch GitHub received, in order."""
    out = []
    for request in fake_github.dispatches():
        assert isinstance(request.json, dict)
        payload = request.json["client_payload"]
        out.append((payload["version"], payload["state"]))
    return out


@pytest.fixture
def ordered(
    tmp_path: Path, store_url: str, fake_github: FakeGitHub
) -> Iterator[tuple[Deployment, Clock]]:
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.format(enrich="false"))
    clock = Clock(1_800_000_000.0)
    deployment = Deployment(
        store_url, load_routes(str(path), {}), fake_github.url, clock=clock, lease=60.0
    )
    yield deployment, clock
    deployment.close()


def test_one_versions_events_go_out_in_apples_order(
    ordered: tuple[Deployment, Clock], fake_github: FakeGitHub
) -> None:
    deployment, clock = ordered
    a, b = (w.dispatcher for w in deployment.workers)
    # Received out of order: READY_FOR_DISTRIBUTION (later timestamp) before the change to
    # PENDING_DEVELOPER_RELEASE that precedes it; then another version's event (the newest:
    # claimed first).
    ready = version_event(
        "e-ready", V1, "PENDING_DEVELOPER_RELEASE", "READY_FOR_DISTRIBUTION",
        "2026-01-10T10:00:05Z",
    )  # fmt: skip
    other = version_event("e-v2", V2, "IN_REVIEW", "REJECTED", "2026-01-10T10:00:01.5Z")
    pending = version_event(
        "e-pending", V1, "IN_REVIEW", "PENDING_DEVELOPER_RELEASE", "2026-01-10T10:00:00.25Z"
    )
    deployment.receive(ready, now=clock.now)
    deployment.receive(pending, now=clock.now + 0.001)
    deployment.receive(other, now=clock.now + 0.002)
    clock.now += 1

    assert a.run_once() == 1  # the other version: not held back
    fake_github.enqueue(502, body={"message": "Server Error"})
    assert b.run_once() == 1  # V1's first change meets a 502 and waits to be retried
    # READY_FOR_DISTRIBUTION is due, but waits for the change before it, on both dispatchers.
    assert a.run_once() == 0
    assert b.run_once() == 0
    (retry_at,) = [
        d.next_attempt_at
        for d in deployment.deliveries()
        if d.attempts == 1 and d.state == "pending"
    ]
    # The held delivery is not due before the one it waits for (no busy polling meanwhile).
    assert deployment.workers[0].store.next_due_at() == pytest.approx(retry_at, abs=1e-3)
    assert retry_at > clock.now
    # Another version's new event is not held back by V1's wait.
    deployment.receive(
        version_event("e-v2b", V2, "REJECTED", "PREPARE_FOR_SUBMISSION", "2026-01-10T10:00:09Z"),
        now=clock.now,
    )
    assert a.run_once() == 1

    clock.now = retry_at + 0.01
    assert b.run_once() == 1
    assert a.run_once() == 1
    assert sent(fake_github) == [
        (V2, "REJECTED"),
        (V1, "PENDING_DEVELOPER_RELEASE"),  # answered 502
        (V2, "PREPARE_FOR_SUBMISSION"),
        (V1, "PENDING_DEVELOPER_RELEASE"),
        (V1, "READY_FOR_DISTRIBUTION"),
    ]
    assert sorted((d.state, d.attempts) for d in deployment.deliveries()) == [
        ("delivered", 1), ("delivered", 1), ("delivered", 1), ("delivered", 2),
    ]  # fmt: skip


def test_an_earlier_delivery_failing_for_good_releases_the_later_one(
    ordered: tuple[Deployment, Clock], fake_github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    deployment, clock = ordered
    a, b = (w.dispatcher for w in deployment.workers)
    first = version_event("e1", V1, "IN_REVIEW", "PENDING_DEVELOPER_RELEASE", "2026-01-10T10:00Z")
    second = version_event(
        "e2", V1, "PENDING_DEVELOPER_RELEASE", "READY_FOR_DISTRIBUTION", "2026-01-10T10:01Z"
    )
    deployment.receive(first, now=clock.now)
    deployment.receive(second, now=clock.now)
    clock.now += 1
    fake_github.enqueue(404, body={"message": "Not Found"})  # permanent: fails at once
    assert a.run_once() == 1
    assert "later ones go out without it" in caplog.text
    assert b.run_once() == 1
    assert sent(fake_github) == [
        (V1, "PENDING_DEVELOPER_RELEASE"),  # answered 404
        (V1, "READY_FOR_DISTRIBUTION"),
    ]
    assert sorted(d.state for d in deployment.deliveries()) == ["delivered", "failed"]


# -- leases ---------------------------------------------------------------------------------------


@pytest.fixture
def slow(
    tmp_path: Path,
    store_url: str,
    fake_github: FakeGitHub,
    fake_asc: FakeAppStoreConnect,
    asc_key: AscKey,
) -> Iterator[Deployment]:
    """Two dispatchers (real clock, 1 s leases) whose route enriches from App Store Connect."""
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.format(enrich="true"))
    fake_asc.load_samples()

    def asc() -> AscClient:
        return AscClient(
            api_url=fake_asc.url, key_id=asc_key.key_id, issuer_id=asc_key.issuer_id,
            private_key=asc_key.private_pem, timeout=10.0,
        )  # fmt: skip

    deployment = Deployment(
        store_url, load_routes(str(path), {}), fake_github.url, clock=time.time, lease=1.0,
        asc=asc,
    )  # fmt: skip
    yield deployment
    deployment.close()


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(target()))
    thread.start()
    return thread, result


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_attempt_longer_than_its_lease_keeps_it(
    slow: Deployment, fake_github: FakeGitHub, fake_asc: FakeAppStoreConnect
) -> None:
    a, b = (w.dispatcher for w in slow.workers)
    slow.receive(version_event("e1", V1, "IN_REVIEW", "READY_FOR_REVIEW", "2026-01-10T10:00Z"),
                 now=time.time())  # fmt: skip
    fake_asc.enqueue(None, delay=2.5, match="/v1/appStoreVersions/")  # 2.5 leases
    thread, attempted = _in_thread(a.run_once)
    _wait_for(lambda: bool(fake_asc.requests))  # the first dispatcher holds it now
    claimed_by_b = 0
    while thread.is_alive():
        claimed_by_b += b.run_once()
        time.sleep(0.05)
    thread.join()
    assert (attempted, claimed_by_b) == ([1], 0)
    assert len(fake_github.dispatches()) == 1
    (delivery,) = slow.deliveries()
    assert (delivery.state, delivery.attempts) == ("delivered", 1)


def test_an_attempt_whose_lease_was_taken_over_does_not_send(
    slow: Deployment,
    fake_github: FakeGitHub,
    fake_asc: FakeAppStoreConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The first dispatcher stalls past its lease without extending it (as a paused process
    would); another claims the delivery meanwhile. The stalled attempt must not send."""
    a = slow.workers[0].dispatcher
    other = slow.workers[1].store
    slow.receive(version_event("e1", V1, "IN_REVIEW", "READY_FOR_REVIEW", "2026-01-10T10:00Z"),
                 now=time.time())  # fmt: skip
    a.settings = a.settings.with_overrides({"lease_seconds": 30.0})  # no extension in time
    fake_asc.enqueue(None, delay=1.5, match="/v1/appStoreVersions/")
    thread, attempted = _in_thread(a.run_once)
    _wait_for(lambda: bool(fake_asc.requests))
    # Seen from a clock past the lease: the delivery is free, and another holder takes it.
    (taken,) = other.claim_due(owner="other", now=time.time() + 60, lease=60.0, limit=1)
    thread.join()
    assert attempted == [1]
    assert fake_github.dispatches() == []
    (delivery,) = slow.deliveries()
    assert (delivery.state, delivery.attempts) == ("pending", 0)
    assert "lease lost before sending: not sent" in caplog.text
    assert taken.delivery_id == delivery.id
