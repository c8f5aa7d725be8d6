"""The durable store: events, one delivery per matched route (the outbox), and every attempt.

The interface is :class:`Store`; :func:`open_store` picks the backend from ``DATABASE_URL``.
Guarantees every backend keeps:

* an event and its deliveries are written in one transaction, before the webhook is answered;
* ``(source, event_id)`` is unique, so a redelivery is detected, race-free, by the insert;
* a delivery is claimed with a lease; a claim whose holder died expires and is claimed again
  (at-least-once delivery).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bridge.errors import ConfigError
from bridge.events import Event

DeliveryState = Literal["pending", "delivered", "failed", "dry_run"]
AttemptOutcome = Literal["delivered", "retry", "failed", "dry_run"]


@dataclass(frozen=True, slots=True)
class Recorded:
    duplicate: bool
    delivery_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Details:
    """What the App Store Connect API said about an event's resource, fetched once per event:
    ``data`` (None when it could not be had) or ``error`` saying why not."""

    data: Mapping[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A due delivery leased to one dispatcher, with everything needed to send it."""

    delivery_id: str
    route: str
    attempts: int  # attempts made before this one
    queued_at: float  # start of the retry horizon
    event: Event
    details: Details | None = None  # None: not fetched yet


@dataclass(frozen=True, slots=True)
class StateChange:
    """One stored event of an instance, for timelines (review times)."""

    type: str
    old_state: str | None
    new_state: str | None
    timestamp: str | None  # the event's own, when the provider sends one
    received_at: float
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt, and what becomes of the delivery."""

    outcome: AttemptOutcome
    started_at: float
    duration_ms: float
    status: int | None = None
    message: str | None = None
    request: dict[str, Any] | None = None
    next_attempt_at: float | None = None  # for outcome == "retry"
    run_id: int | None = None
    run_url: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    id: str
    route: str
    state: DeliveryState
    attempts: int
    next_attempt_at: float
    last_status: int | None
    last_error: str | None
    run_url: str | None
    request: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EventRecord:
    source: str
    provider: str
    type: str
    event_id: str
    old_state: str | None
    new_state: str | None
    received_at: float
    deliveries: tuple[DeliveryRecord, ...]
    instance_type: str | None = None
    instance_id: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    number: int
    started_at: float
    duration_ms: float
    status: int | None
    outcome: AttemptOutcome
    message: str | None


@dataclass(frozen=True, slots=True)
class EventDetail:
    """One event for the delivery log's detail page: the record, the normalized event with
    the stored body, and every attempt of every delivery (by delivery id, oldest first)."""

    record: EventRecord
    event: Event
    body: bytes
    attempts: Mapping[str, tuple[AttemptRecord, ...]]
    details: Details | None = None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What the delivery log shows; every field given must hold."""

    source: str | None = None
    type: str | None = None
    state: DeliveryState | None = None  # at least one delivery in this state
    search: str | None = None  # part of the event id, or a whole delivery id


@dataclass(frozen=True, slots=True)
class EventPage:
    events: tuple[EventRecord, ...]
    next_cursor: int | None  # ``before`` for the next, older page; None on the last page


@dataclass(frozen=True, slots=True)
class OutboxStats:
    by_state: Mapping[DeliveryState, int] = field(default_factory=dict)
    oldest_pending_at: float | None = None  # queued_at of the longest-waiting pending delivery

    @property
    def pending(self) -> int:
        return self.by_state.get("pending", 0)


class Store(Protocol):
    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        """Store ``event`` and one pending delivery per route, atomically; a known
        ``(source, id)`` stores nothing and returns ``duplicate=True``.
        Raises StoreUnavailableError when the database cannot be reached."""

    def claim_due(self, *, owner: str, now: float, lease: float, limit: int) -> list[Claim]:
        """Lease up to ``limit`` pending deliveries due at ``now`` to ``owner``."""

    def finish(self, delivery_id: str, *, owner: str, result: Outcome) -> bool:
        """Record an attempt and the delivery's new state. Returns False (the attempt is still
        recorded) when ``owner`` no longer holds the lease."""

    def details(self, source: str, event_id: str) -> Details | None:
        """The event's stored App Store Connect details; None when not fetched yet."""

    def save_details(self, source: str, event_id: str, details: Details) -> Details:
        """Store what enrichment found (or why it found nothing) with the event, unless
        something is stored already (another process fetched it first); returns what is
        stored now."""

    def instance_history(self, instance_type: str, instance_id: str) -> list[StateChange]:
        """The stored events about one instance, in the order they were received."""

    def lease_job(self, name: str, *, owner: str, now: float, every: float) -> bool:
        """Take the job ``name`` when it last ran at least ``every`` seconds ago and no other
        owner holds it: True means ``owner`` runs it now (one runner across processes)."""

    def finish_job(self, name: str, *, owner: str, now: float, result: str) -> None:
        """Record a job run's result and free the lease."""

    def next_due_at(self) -> float | None:
        """When the earliest pending delivery is due, or None when there is none."""

    def recent_events(self, *, limit: int, source: str | None = None) -> list[EventRecord]: ...

    def events_by_id(self, event_id: str, *, source: str | None = None) -> list[EventRecord]: ...

    def requeue_event(self, event_id: str, *, source: str | None, now: float) -> int:
        """Queue every delivery of the event again; returns how many."""

    def requeue_failed(self, *, now: float) -> int:
        """Queue every failed delivery again; returns how many."""

    def requeue_delivery(self, delivery_id: str, *, now: float) -> int:
        """Queue one delivery again, whatever its state, unless an attempt holds its lease
        now; returns 1 when queued, 0 otherwise (unknown id, or an attempt in flight)."""

    def list_events(
        self, filters: EventFilter, *, limit: int, before: int | None = None
    ) -> EventPage:
        """Events matching ``filters``, newest first, ``limit`` per page; ``before`` is the
        cursor of the previous page (keyset pagination: as fast on the last page as on the
        first)."""

    def event_detail(self, source: str, event_id: str) -> EventDetail | None: ...

    def outbox_stats(self, *, states: Sequence[DeliveryState] | None = None) -> OutboxStats:
        """Deliveries per state (only ``states`` when given: pending and failed are cheap
        to count, delivered ones are most of the table) and the oldest pending one."""

    def prune(self, *, before: float, include_failed: bool = False) -> int:
        """Delete finished events received before ``before``; returns how many."""

    def migrate(self) -> int:
        """Bring the schema up to date (done on open too); returns its version."""

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers."""

    def close(self) -> None: ...


def open_store(database_url: str, *, pool_size: int = 10) -> Store:
    """The store ``DATABASE_URL`` names, its schema migrated. ``pool_size``: most connections
    per process (PostgreSQL). Raises ConfigError for an unsupported URL."""
    # Imported here: both backends import this module.
    from bridge.store.postgres import PostgresStore, is_postgres_url  # noqa: PLC0415
    from bridge.store.sqlite import SQLiteStore, sqlite_path  # noqa: PLC0415

    if database_url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path(database_url))
    if is_postgres_url(database_url):
        return PostgresStore(database_url, pool_size=pool_size)
    scheme = database_url.partition(":")[0] or "(none)"
    raise ConfigError(
        f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path.db or postgres://…"
    )
