"""What the store takes and gives back: plain frozen records, no database types.

The store's modules, its backends and its consumers all share these; of bridge, this module
imports only the shared kernel (:mod:`bridge.events`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
    # Who holds the lease: the owner to give finish and extend_leases. Each dispatcher has
    # its own and waits for its attempts before claiming again, so an attempt whose lease
    # was taken over (by another dispatcher, or a replay) no longer matches.
    lease_owner: str = ""


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
class AttemptResult:
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
    # How the workflow run this delivery started went, from GitHub's workflow_run webhooks:
    # queued / in_progress / completed, and success / failure / cancelled / timed_out / …
    run_status: str | None = None
    run_conclusion: str | None = None


# A completed run with one of these conclusions did not do what the delivery asked.
FAILED_RUN_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out"})


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one GitHub ``workflow_run`` webhook says about a run: the run (id and attempt),
    where it ran, how far it got, and the delivery id its run-name carries, if any."""

    run_id: int
    attempt: int
    status: str  # requested, queued, in_progress, completed, …
    conclusion: str | None  # set when completed: success, failure, cancelled, timed_out, …
    url: str | None
    repository: str | None  # "owner/name"
    delivery_id: str | None = None  # from "[bridge <delivery id>]" in the run-name
    workflow: str | None = None

    @property
    def failed(self) -> bool:
        """The run ended without doing its work: failure, cancelled or timed out."""
        return self.status == "completed" and self.conclusion in FAILED_RUN_CONCLUSIONS


@dataclass(frozen=True, slots=True)
class RunUpdate:
    """The delivery a run report belongs to, and whether the report changed what is stored
    (False: an older or repeated report, e.g. ``in_progress`` after ``completed``)."""

    delivery_id: str
    route: str
    source: str
    event_id: str
    changed: bool
    event_type: str = ""  # the type of the event whose delivery started the run


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
class CredentialState:
    """One credential bridge uses (``github``, ``appstoreconnect``), as last seen: when it was
    accepted, when it was refused since (and why), and when it expires, when known."""

    name: str
    accepted_at: float | None
    refused_at: float | None
    refused_reason: str | None
    expires_at: float | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    by_state: Mapping[DeliveryState, int] = field(default_factory=dict)
    oldest_pending_at: float | None = None  # queued_at of the longest-waiting pending delivery

    @property
    def pending(self) -> int:
        return self.by_state.get("pending", 0)


@dataclass(frozen=True, slots=True)
class StuckDelivery:
    """A pending delivery announced as stuck (alerts.stuck): not delivered for too long, or
    after too many failed attempts."""

    delivery_id: str
    route: str
    attempts: int
    queued_at: float
    last_error: str | None
    source: str
    event_id: str
    event_type: str
