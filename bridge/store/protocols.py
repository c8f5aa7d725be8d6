"""The store's interface, cut by consumer: each part of bridge depends on the few methods it
calls, and :class:`Store` is all of them (what :func:`bridge.store.open_store` returns).

Every method raises StoreUnavailableError when the database cannot be reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bridge.events import Event
from bridge.store.records import (
    AttemptResult,
    Claim,
    DeliveryState,
    Details,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
    Recorded,
    StateChange,
)


class EventLookup(Protocol):
    """Whether, and how, an event is stored: asked by reconcile before it has App Store
    Connect send an event again, and by the operators' views."""

    def events_by_id(self, event_id: str, *, source: str | None = None) -> list[EventRecord]:
        """The stored events with this id (one per source unless ``source`` is given), oldest
        first, with their deliveries; empty when there is none."""


class EventIntake(EventLookup, Protocol):
    """Taking events in: the webhook endpoint, and reconcile (events App Store Connect failed
    to deliver), which also looks an event up before asking for it again."""

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        """Store ``event`` and one pending delivery per route, atomically; a known
        ``(source, id)`` stores nothing and returns ``duplicate=True``.
        Raises StoreUnavailableError when the database cannot be reached."""


class Outbox(Protocol):
    """The dispatcher's side: lease due deliveries, record each attempt, and delete what the
    retention period no longer keeps."""

    def claim_due(self, *, owner: str, now: float, lease: float, limit: int) -> list[Claim]:
        """Lease up to ``limit`` pending deliveries due at ``now`` to ``owner``."""

    def finish(self, delivery_id: str, *, owner: str, result: AttemptResult) -> bool:
        """Record an attempt and the delivery's new state. Returns False (the attempt is still
        recorded) when ``owner`` no longer holds the lease."""

    def next_due_at(self) -> float | None:
        """When the earliest pending delivery is due, or None when there is none."""

    def prune(
        self, *, before: float, include_failed: bool = False, unrouted_only: bool = False
    ) -> int:
        """Delete finished events received before ``before``; returns how many."""

    def size_bytes(self) -> int:
        """How much room the database takes (SQLite: its file's pages; PostgreSQL: the
        database's size), for the dispatcher's housekeeping and /metrics."""


class EventLog(EventLookup, Protocol):
    """The operators' view (the delivery log, the CLI, the metrics): stored events, their
    deliveries and attempts, the outbox's figures, and replays."""

    def recent_events(self, *, limit: int, source: str | None = None) -> list[EventRecord]:
        """The ``limit`` newest events (of ``source`` only, when given), newest first."""

    def list_events(
        self, filters: EventFilter, *, limit: int, before: int | None = None
    ) -> EventPage:
        """Events matching ``filters``, newest first, ``limit`` per page; ``before`` is the
        cursor of the previous page (keyset pagination: as fast on the last page as on the
        first)."""

    def event_detail(self, source: str, event_id: str) -> EventDetail | None:
        """One event with its body, details and every attempt; None when it is not stored."""

    def outbox_stats(self, *, states: Sequence[DeliveryState] | None = None) -> OutboxStats:
        """Deliveries per state (only ``states`` when given: pending and failed are cheap
        to count, delivered ones are most of the table) and the oldest pending one."""

    def requeue_event(self, event_id: str, *, source: str | None, now: float) -> int:
        """Queue every delivery of the event again; returns how many."""

    def requeue_failed(self, *, now: float) -> int:
        """Queue every failed delivery again; returns how many."""

    def requeue_delivery(self, delivery_id: str, *, now: float) -> int:
        """Queue one delivery again, whatever its state, unless an attempt holds its lease
        now; returns 1 when queued, 0 otherwise (unknown id, or an attempt in flight)."""


class EventFacts(Protocol):
    """What is known about an event beyond its payload, for rendering a delivery:
    App Store Connect details (enrichment) and an instance's history (review times)."""

    def details(self, source: str, event_id: str) -> Details | None:
        """The event's stored App Store Connect details; None when not fetched yet."""

    def save_details(self, source: str, event_id: str, details: Details) -> Details:
        """Store what enrichment found (or why it found nothing) with the event, unless
        something is stored already (another process fetched it first); returns what is
        stored now."""

    def instance_history(self, instance_type: str, instance_id: str) -> list[StateChange]:
        """The stored events about one instance, in the order they were received."""


class JobLeases(Protocol):
    """Jobs that one process at a time runs across the deployment (reconcile)."""

    def lease_job(self, name: str, *, owner: str, now: float, every: float) -> bool:
        """Take the job ``name`` when it last ran at least ``every`` seconds ago and no other
        owner holds it: True means ``owner`` runs it now (one runner across processes)."""

    def finish_job(self, name: str, *, owner: str, now: float, result: str) -> None:
        """Record a job run's result and free the lease."""


class AdminSessions(Protocol):
    """Which admin session cookies still open the delivery log (bridge.ui.auth)."""

    def session_generation(self) -> int:
        """The generation a session must have been opened in to be valid."""

    def session_revoked(self, session_id: str) -> bool:
        """Whether this session was ended by logging out."""

    def revoke_session(self, session_id: str, *, now: float, forget_before: float) -> None:
        """End one session (logout), and forget sessions revoked before ``forget_before``."""

    def end_all_sessions(self) -> int:
        """End every session ("log out everywhere"); returns the new generation."""


class Store(EventIntake, Outbox, EventLog, EventFacts, JobLeases, AdminSessions, Protocol):
    """The whole store, with its lifecycle: what a process opens once and hands out."""

    def migrate(self) -> int:
        """Bring the schema up to date (done on open too); returns its version."""

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers."""

    def close(self) -> None:
        """Close the connections this process holds (at exit, or a command's end)."""
