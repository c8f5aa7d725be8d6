"""The delivery log's store queries (list, detail, replay one, outbox figures), run against
both backends: SQLite and a real PostgreSQL server (``store`` fixture in conftest.py)."""

from __future__ import annotations

import json

import pytest

from bridge.events import Event, Instance
from bridge.store import AttemptResult, EventFilter, Store


def event(n: int, *, source: str = "ios", type: str = "buildUploadStateUpdated") -> Event:
    return Event(
        source, "appstoreconnect", type, f"evt-{n:03d}", "PROCESSING", "COMPLETE",
        Instance("buildUploads", f"bu-{n}"), "2025-12-25T08:28:35Z", {"data": {"id": n}},
    )  # fmt: skip


def record(store: Store, n: int, routes: list[str], **kwargs: str) -> list[str]:
    e = event(n, **kwargs)
    body = json.dumps(e.payload).encode()
    return list(store.record_event(e, body, routes, now=float(n)).delivery_ids)


def attempt(store: Store, outcome: str, *, now: float, status: int | None = None) -> str:
    """Attempt the next due delivery with ``outcome``; returns its id."""
    [claim] = store.claim_due(owner="w", now=now, lease=60, limit=1)
    result = AttemptResult(
        outcome,  # type: ignore[arg-type]
        started_at=now, duration_ms=12.5, status=status, message=f"{outcome} answer",
        request={"kind": "repository_dispatch"},
        next_attempt_at=now + 5 if outcome == "retry" else None,
    )  # fmt: skip
    assert store.finish(claim.delivery_id, owner="w", result=result)
    return claim.delivery_id


def ids(store: Store, filters: EventFilter | None = None, **kwargs: int | None) -> list[str]:
    filters = filters or EventFilter()
    return [e.event_id for e in store.list_events(filters, limit=100, **kwargs).events]


def test_newest_first_with_keyset_pages(store: Store) -> None:
    for n in range(1, 8):
        record(store, n, ["a"])
    first = store.list_events(EventFilter(), limit=3)
    assert [e.event_id for e in first.events] == ["evt-007", "evt-006", "evt-005"]
    assert first.next_cursor is not None
    second = store.list_events(EventFilter(), limit=3, before=first.next_cursor)
    assert [e.event_id for e in second.events] == ["evt-004", "evt-003", "evt-002"]
    assert second.next_cursor is not None
    last = store.list_events(EventFilter(), limit=3, before=second.next_cursor)
    assert [e.event_id for e in last.events] == ["evt-001"]
    assert last.next_cursor is None


def test_a_page_that_is_exactly_full_has_no_next(store: Store) -> None:
    for n in range(1, 4):
        record(store, n, [])
    assert store.list_events(EventFilter(), limit=3).next_cursor is None


def test_filters_by_source_and_type(store: Store) -> None:
    record(store, 1, ["a"])
    record(store, 2, ["a"], source="beta", type="updateVersion")
    record(store, 3, [], type="webhookPingCreated")
    assert ids(store, EventFilter(source="beta")) == ["evt-002"]
    assert ids(store, EventFilter(type="webhookPingCreated")) == ["evt-003"]
    assert ids(store, EventFilter(source="ios", type="buildUploadStateUpdated")) == ["evt-001"]
    assert ids(store, EventFilter(source="nope")) == []


def test_filters_by_delivery_state(store: Store) -> None:
    record(store, 1, ["a"])
    record(store, 2, ["a", "b"])
    # Claims take the newest first, an event's deliveries in route order.
    attempt(store, "delivered", now=10.0, status=204)  # evt-002's first
    attempt(store, "retry", now=10.0, status=502)  # evt-002's second: pending again
    attempt(store, "failed", now=10.0, status=404)  # evt-001's only delivery
    assert ids(store, EventFilter(state="failed")) == ["evt-001"]
    assert ids(store, EventFilter(state="delivered")) == ["evt-002"]
    assert ids(store, EventFilter(state="pending")) == ["evt-002"]
    assert ids(store, EventFilter(state="dry_run")) == []


def test_search_matches_part_of_the_event_id_or_a_whole_delivery_id(store: Store) -> None:
    record(store, 1, ["a"])
    [delivery] = record(store, 12, ["a"])
    record(store, 123, [])
    assert ids(store, EventFilter(search="12")) == ["evt-123", "evt-012"]
    assert ids(store, EventFilter(search="EVT-001")) == ["evt-001"]  # case does not matter
    assert ids(store, EventFilter(search=delivery)) == ["evt-012"]
    assert ids(store, EventFilter(search=delivery[:8])) == []  # delivery ids: whole only


@pytest.mark.parametrize("wildcard", ["%", "_", "evt_0", "\\"])
def test_search_takes_like_wildcards_literally(store: Store, wildcard: str) -> None:
    record(store, 1, [])
    assert ids(store, EventFilter(search=wildcard)) == []


def test_filters_combine_with_pages(store: Store) -> None:
    for n in range(1, 11):
        record(store, n, ["a"], source="ios" if n % 2 else "beta")
    page = store.list_events(EventFilter(source="beta", search="evt"), limit=2)
    assert [e.event_id for e in page.events] == ["evt-010", "evt-008"]
    rest = ids(store, EventFilter(source="beta", search="evt"), before=page.next_cursor)
    assert rest == ["evt-006", "evt-004", "evt-002"]


def test_event_detail_has_body_event_and_every_attempt(store: Store) -> None:
    [delivery] = record(store, 1, ["a"])
    attempt(store, "retry", now=10.0, status=502)
    attempt(store, "delivered", now=20.0, status=204)
    detail = store.event_detail("ios", "evt-001")
    assert detail is not None
    assert json.loads(detail.body) == {"data": {"id": 1}}
    assert detail.event == event(1)
    assert detail.event.payload == {"data": {"id": 1}}
    assert [d.state for d in detail.record.deliveries] == ["delivered"]
    attempts = detail.attempts[delivery]
    assert [(a.number, a.outcome, a.status) for a in attempts] == [
        (1, "retry", 502),
        (2, "delivered", 204),
    ]
    assert (attempts[0].started_at, attempts[0].duration_ms) == (10.0, 12.5)
    assert attempts[1].message == "delivered answer"


def test_event_detail_of_an_unknown_event_is_none(store: Store) -> None:
    record(store, 1, [])
    assert store.event_detail("ios", "evt-999") is None
    assert store.event_detail("beta", "evt-001") is None
    detail = store.event_detail("ios", "evt-001")
    assert detail is not None
    assert detail.attempts == {}


def test_requeue_one_delivery(store: Store) -> None:
    failed, other = record(store, 1, ["a", "b"])
    assert attempt(store, "failed", now=10.0, status=404) == failed
    assert attempt(store, "failed", now=10.0, status=404) == other
    assert store.requeue_delivery(failed, now=50.0) == 1
    [claim] = store.claim_due(owner="w", now=50.0, lease=60, limit=5)
    assert (claim.delivery_id, claim.queued_at) == (failed, 50.0)
    states = {d.id: d.state for d in store.events_by_id("evt-001")[0].deliveries}
    assert states == {failed: "pending", other: "failed"}


def test_requeue_one_delivery_leaves_an_attempt_in_flight_alone(store: Store) -> None:
    [delivery] = record(store, 1, ["a"])
    store.claim_due(owner="w", now=10.0, lease=60, limit=1)
    assert store.requeue_delivery(delivery, now=20.0) == 0  # leased until 70
    assert store.requeue_delivery(delivery, now=71.0) == 1  # its holder died
    assert store.requeue_delivery("no-such-delivery", now=71.0) == 0


def test_outbox_stats(store: Store) -> None:
    empty = store.outbox_stats()
    assert (dict(empty.by_state), empty.oldest_pending_at, empty.pending) == ({}, None, 0)
    record(store, 1, ["a"])
    record(store, 2, ["a", "b"])
    record(store, 3, ["a"])
    attempt(store, "failed", now=10.0)  # evt-003's (claims take the newest first)
    attempt(store, "dry_run", now=10.0)  # evt-002's first
    stats = store.outbox_stats()
    assert dict(stats.by_state) == {"failed": 1, "dry_run": 1, "pending": 2}
    assert stats.pending == 2
    assert stats.oldest_pending_at == 1.0  # evt-001's
