"""A :class:`~bridge.store.Store` that counts what passes through it for :mod:`bridge.metrics`:
new events by type (at intake) and attempts with their duration (in the dispatcher). The
store is the one place both paths go through; every call is passed on unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from bridge.events import Event
from bridge.metrics import Metrics
from bridge.store import (
    Claim,
    DeliveryState,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
    Outcome,
    Recorded,
    Store,
)


class MeteredStore:
    def __init__(self, store: Store, metrics: Metrics) -> None:
        self.inner = store
        self.metrics = metrics

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        recorded = self.inner.record_event(event, body, routes, now=now)
        if not recorded.duplicate:
            self.metrics.observe_event(event.source, event.type)
        return recorded

    def finish(self, delivery_id: str, *, owner: str, result: Outcome) -> bool:
        finished = self.inner.finish(delivery_id, owner=owner, result=result)
        self.metrics.observe_attempt(result.outcome, result.duration_ms / 1000)
        return finished

    # -- passed on as they are ----------------------------------------------------------------

    def claim_due(self, *, owner: str, now: float, lease: float, limit: int) -> list[Claim]:
        return self.inner.claim_due(owner=owner, now=now, lease=lease, limit=limit)

    def release(self, delivery_ids: Sequence[str], *, owner: str) -> None:
        self.inner.release(delivery_ids, owner=owner)

    def next_due_at(self) -> float | None:
        return self.inner.next_due_at()

    def recent_events(self, *, limit: int, source: str | None = None) -> list[EventRecord]:
        return self.inner.recent_events(limit=limit, source=source)

    def events_by_id(self, event_id: str, *, source: str | None = None) -> list[EventRecord]:
        return self.inner.events_by_id(event_id, source=source)

    def requeue_event(self, event_id: str, *, source: str | None, now: float) -> int:
        return self.inner.requeue_event(event_id, source=source, now=now)

    def requeue_failed(self, *, now: float) -> int:
        return self.inner.requeue_failed(now=now)

    def requeue_delivery(self, delivery_id: str, *, now: float) -> int:
        return self.inner.requeue_delivery(delivery_id, now=now)

    def list_events(
        self, filters: EventFilter, *, limit: int, before: int | None = None
    ) -> EventPage:
        return self.inner.list_events(filters, limit=limit, before=before)

    def event_detail(self, source: str, event_id: str) -> EventDetail | None:
        return self.inner.event_detail(source, event_id)

    def outbox_stats(self, *, states: Sequence[DeliveryState] | None = None) -> OutboxStats:
        return self.inner.outbox_stats(states=states)

    def prune(self, *, before: float, include_failed: bool = False) -> int:
        return self.inner.prune(before=before, include_failed=include_failed)

    def migrate(self) -> int:
        return self.inner.migrate()

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()
