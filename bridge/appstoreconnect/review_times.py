"""How long App Review took, from the stored state changes of one app store version.

A review cycle starts when the version enters ``WAITING_FOR_REVIEW``, is picked up at
``IN_REVIEW`` and ends at the first decision after it (approved: ``PENDING_DEVELOPER_RELEASE``,
``READY_FOR_DISTRIBUTION``…; rejected: ``REJECTED``, ``METADATA_REJECTED``…). Withdrawing the
submission (``DEVELOPER_REJECTED``) or editing it again (``PREPARE_FOR_SUBMISSION``) ends the
cycle without times. States: docs/protocols.md, "States", and
https://developer.apple.com/help/app-store-connect/reference/app-and-submission-statuses

Times are the events' own ``timestamp`` (when Apple sent one), else when bridge received them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.appstoreconnect.webhooks import iso_utc
from bridge.durations import two_units
from bridge.events import Event, Instance
from bridge.store import EventFacts, StateChange

APP_VERSION_EVENT = "appStoreVersionAppVersionStateUpdated"
APPROVED = frozenset(
    {
        "ACCEPTED",
        "PENDING_DEVELOPER_RELEASE",
        "PENDING_APPLE_RELEASE",
        "PROCESSING_FOR_DISTRIBUTION",
        "READY_FOR_DISTRIBUTION",
    }
)
REJECTED = frozenset({"REJECTED", "METADATA_REJECTED", "INVALID_BINARY"})
ENDS_CYCLE = frozenset({"DEVELOPER_REJECTED", "PREPARE_FOR_SUBMISSION", "READY_FOR_REVIEW"})


@dataclass(frozen=True, slots=True)
class ReviewTimes:
    waiting_at: float | None  # entered WAITING_FOR_REVIEW
    in_review_at: float | None
    decided_at: float | None
    decision: str | None  # the state decided, e.g. PENDING_DEVELOPER_RELEASE or REJECTED

    @property
    def wait_seconds(self) -> float | None:
        return _between(self.waiting_at, self.in_review_at)

    @property
    def review_seconds(self) -> float | None:
        return _between(self.in_review_at, self.decided_at)

    @property
    def total_seconds(self) -> float | None:
        return _between(self.waiting_at, self.decided_at)

    def as_dict(self) -> dict[str, Any]:
        """``event.review`` in templates and ``details.review`` in the standard payload."""
        return {
            "waiting_since": _iso(self.waiting_at),
            "in_review_at": _iso(self.in_review_at),
            "decided_at": _iso(self.decided_at),
            "decision": self.decision,
            "wait_seconds": _whole(self.wait_seconds),
            "review_seconds": _whole(self.review_seconds),
            "total_seconds": _whole(self.total_seconds),
        }

    def describe(self) -> str:
        """``waited 18h 24m · in review 28m · total 18h 53m → PENDING_DEVELOPER_RELEASE``."""
        parts = [
            f"{label} {duration(seconds)}"
            for label, seconds in (
                ("waited", self.wait_seconds),
                ("in review", self.review_seconds),
                ("total", self.total_seconds),
            )
            if seconds is not None
        ]
        if not parts:
            parts = ["in review" if self.in_review_at is not None else "waiting for review"]
        return " · ".join(parts) + (f" → {self.decision}" if self.decision else "")


def stored_review(
    store: EventFacts, *, event_type: str, instance: Instance | None, event_id: str
) -> ReviewTimes | None:
    """The review times as of one stored event (None for other events, or outside a cycle):
    the version's changes up to that event's own time, so an event recovered late gets the
    figures of its own cycle."""
    if event_type != APP_VERSION_EVENT or instance is None:
        return None
    return _as_of(store.instance_history(instance.type, instance.id), event_id)


def review_as_of(store: EventFacts, event: Event, *, received_at: float) -> ReviewTimes | None:
    """The review times as ``event`` sees them, stored or not: an event not in the store yet
    (a body being simulated) counts as received at ``received_at``. For a stored event this
    is :func:`stored_review`."""
    if event.type != APP_VERSION_EVENT or event.instance is None:
        return None
    history = store.instance_history(event.instance.type, event.instance.id)
    if not any(c.event_id == event.id for c in history):
        change = StateChange(
            event.type, event.old_state, event.new_state, event.timestamp, received_at, event.id
        )
        history = [*history, change]
    return _as_of(history, event.id)


def _as_of(history: Sequence[StateChange], event_id: str) -> ReviewTimes | None:
    this = next((c for c in history if c.event_id == event_id), None)
    if this is not None:
        history = [c for c in history if moment(c) <= moment(this)]
    return review_times(history)


def review_times(history: Sequence[StateChange]) -> ReviewTimes | None:
    """The review cycle the last of ``history`` belongs to; None when it belongs to none."""
    changes = sorted(
        (c for c in history if c.type == APP_VERSION_EVENT and c.new_state), key=moment
    )
    waiting: float | None = None
    in_review: float | None = None
    decided: tuple[float, str] | None = None
    for change in changes:
        at, state = moment(change), change.new_state
        if state == "WAITING_FOR_REVIEW":
            waiting, in_review, decided = at, None, None
        elif state == "IN_REVIEW":
            in_review, decided = at, None
        elif state in ENDS_CYCLE:
            waiting, in_review, decided = None, None, None
        elif state in APPROVED | REJECTED and decided is None and (waiting or in_review):
            decided = (at, str(state))
    if waiting is None and in_review is None:
        return None
    return ReviewTimes(
        waiting, in_review, decided[0] if decided else None, decided[1] if decided else None
    )


def moment(change: StateChange) -> float:
    """When the change happened: Apple's timestamp, else when bridge received it."""
    if change.timestamp:
        try:
            return datetime.fromisoformat(change.timestamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return change.received_at


def duration(seconds: float) -> str:
    """``2d 3h``, ``18h 24m``, ``28m``, ``45s``: the two largest units, the seconds
    rounded."""
    return two_units(round(seconds))


def _between(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None and end >= start else None


def _whole(seconds: float | None) -> int | None:
    return round(seconds) if seconds is not None else None


def _iso(at: float | None) -> str | None:
    return iso_utc(at) if at is not None else None
