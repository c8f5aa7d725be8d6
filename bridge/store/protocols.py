"""The store's interface, cut by consumer: each part of bridge depends on the few methods it
calls, and :class:`Store` is all of them (what :func:`bridge.store.open_store` returns).

Every method raises StoreUnavailableError when the database cannot be reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bridge.events import Event
from bridge.github_limits import Pacing
from bridge.store.records import (
    AttemptResult,
    Claim,
    CredentialState,
    DeliveryState,
    Details,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
    Recorded,
    RunReport,
    RunUpdate,
    StateChange,
    StuckDelivery,
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

    def claim_due(
        self, *, owner: str, now: float, lease: float, limit: int, pacing: Pacing | None = None
    ) -> list[Claim]:
        """Lease up to ``limit`` pending deliveries due at ``now`` to ``owner`` (the claims'
        ``lease_owner``): fresh ones first, then the backlog newest first. A delivery waits
        while an earlier delivery of its route about the same instance is pending (events
        of one version in order). With ``pacing``, a delivery of a paced route is taken only
        while its credential has budget, and counted as sent (bridge.github_limits)."""

    def extend_leases(self, leases: Sequence[tuple[str, str]], *, until: float) -> set[str]:
        """Extend each ``(delivery id, lease owner)`` lease to ``until`` while that claim
        still holds it; returns the delivery ids still held (a lease taken over by another
        claim, or a delivery replayed, is not extended)."""

    def finish(self, delivery_id: str, *, owner: str, result: AttemptResult) -> bool:
        """Record an attempt and the delivery's new state. ``owner``: the claim's
        ``lease_owner``. Returns False (the attempt is still recorded) when it no longer
        holds the lease."""

    def next_due_at(
        self, *, now: float | None = None, pacing: Pacing | None = None
    ) -> float | None:
        """When the earliest pending delivery is due, or None when there is none. With
        ``pacing`` (and ``now``): the earliest one that may be sent, or when a credential's
        budget opens again, whichever comes first."""

    def prune(
        self,
        *,
        before: float,
        include_failed: bool = False,
        unrouted_only: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Delete finished events received before ``before`` (with ``unrouted_only``, only
        those no route matched); returns how many (``dry_run``: how many would be deleted,
        deleting nothing)."""

    def size_bytes(self) -> int:
        """How much room the database takes (SQLite: its file's pages; PostgreSQL: the
        database's size), for the dispatcher's housekeeping and /metrics."""


class StuckDeliveries(Protocol):
    """The alerts' side: deliveries still not delivered, each announced once."""

    def take_stuck(
        self, *, queued_before: float, min_attempts: int, now: float, limit: int
    ) -> list[StuckDelivery]:
        """Pending deliveries queued before ``queued_before`` or with at least
        ``min_attempts`` attempts, not yet announced: marked announced at ``now`` and
        returned, each to one caller only (several processes may ask)."""

    def size_bytes(self) -> int:
        """How much room the database takes (SQLite: its file's pages; PostgreSQL: the
        database's size), for the dispatcher's housekeeping and /metrics."""


class EventLog(EventLookup, Protocol):
    """The operators' view (the delivery log, the CLI, the metrics): stored events, their
    deliveries and attempts, the outbox's figures, and replays."""

    def last_received_at(self, source: str) -> float | None:
        """When the newest stored event of ``source`` was received; None when there is none."""

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

    def latest_details_error(self, *, within: int = 1000) -> str | None:
        """Why the most recent event whose App Store Connect details were asked for got none
        (None: it got them, or none of the last ``within`` events asked)."""

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


class RunTracking(Protocol):
    """Following the workflow runs bridge started (GitHub's ``workflow_run`` webhooks)."""

    def record_run(self, report: RunReport, *, now: float) -> RunUpdate | None:
        """Keep ``report`` on the delivery that started the run (by run id, else by the
        delivery id of its run-name, in the same repository); None when no delivery matches.
        A report older than what is stored changes nothing (``changed=False``)."""


class CredentialHealth(Protocol):
    """How the credentials bridge uses are doing, shared by every process."""

    def note_credential(
        self, name: str, *, now: float, refused: str | None = None, expires_at: float | None = None
    ) -> None:
        """Record that credential ``name`` was accepted (``refused`` None; with its expiry
        when known) or refused (with the reason) at ``now``."""

    def credential_states(self) -> list[CredentialState]:
        """Every credential noted so far, by name."""


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


class Store(
    EventIntake,
    Outbox,
    EventLog,
    EventFacts,
    JobLeases,
    StuckDeliveries,
    RunTracking,
    CredentialHealth,
    AdminSessions,
    Protocol,
):
    """The whole store, with its lifecycle: what a process opens once and hands out."""

    def migrate(self) -> int:
        """Bring the schema up to date (done on open too); returns its version."""

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the database answers."""

    def close(self) -> None:
        """Close the connections this process holds (at exit, or a command's end)."""
