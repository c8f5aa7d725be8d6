"""The outbox in SQL: an event and its deliveries stored in one transaction, due deliveries
leased to dispatchers, every attempt recorded, deliveries queued again, old events deleted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bridge.events import Event
from bridge.github_limits import Pacing
from bridge.store.pacing_sql import IN_TURN, PacedClaimsSQL
from bridge.store.records import AttemptResult, Claim, Recorded
from bridge.store.sql_base import Cursor, claim_from_row


class OutboxSQL(PacedClaimsSQL):
    """record_event, claim_due, finish, next_due_at, the requeues and prune."""

    # -- intake -----------------------------------------------------------------------------

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        with self._tx() as cur:
            return self._insert_event(cur, event, body, routes, now)

    def _insert_event(
        self, cur: Cursor, event: Event, body: bytes, routes: Sequence[str], now: float
    ) -> Recorded:
        """The inserts of :meth:`record_event`, inside the caller's transaction."""
        # ON CONFLICT DO NOTHING is the race-free dedupe: a concurrent insert of the same
        # key waits for the first transaction, then inserts nothing and returns no row.
        cur.execute(
            "INSERT INTO events (source, event_id, provider, type, old_state, new_state,"
            " instance_type, instance_id, timestamp, body, received_at, occurred_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source, event_id) DO NOTHING RETURNING pk",
            event_values(event, body, now),
        )
        inserted = cur.fetchone()
        if inserted is None:
            return Recorded(duplicate=True)
        ids = tuple(str(uuid.uuid4()) for _ in routes)
        if ids:
            cur.executemany(
                "INSERT INTO deliveries (id, event_pk, route, state, created_at, queued_at,"
                " next_attempt_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(i, inserted["pk"], r, now, now, now) for i, r in zip(ids, routes, strict=True)],
            )
        return Recorded(duplicate=False, delivery_ids=ids)

    # -- the dispatcher ---------------------------------------------------------------------

    def claim_due(
        self, *, owner: str, now: float, lease: float, limit: int, pacing: Pacing | None = None
    ) -> list[Claim]:
        with self._tx() as cur:
            chosen = self._claimable(cur, now=now, limit=limit, pacing=pacing)
            if chosen:
                cur.executemany(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    [(owner, now + lease, row["id"]) for row, _, _ in chosen],
                )
        return [claim_from_row(row, owner) for row, _, _ in chosen]

    def extend_leases(self, leases: Sequence[tuple[str, str]], *, until: float) -> set[str]:
        held: set[str] = set()
        if not leases:
            return held
        with self._tx() as cur:
            for delivery_id, lease_owner in leases:
                cur.execute(
                    "UPDATE deliveries SET lease_until = ? WHERE id = ? AND lease_owner = ?"
                    " AND state = 'pending'",
                    (until, delivery_id, lease_owner),
                )
                if cur.rowcount == 1:
                    held.add(delivery_id)
        return held

    def finish(self, delivery_id: str, *, owner: str, result: AttemptResult) -> bool:
        after = AfterAttempt.of(result)
        with self._tx() as cur:
            cur.execute(
                "SELECT attempts + 1 AS number FROM deliveries WHERE id = ?", (delivery_id,)
            )
            found = cur.fetchone()
            if found is None:  # pruned while in flight
                return False
            number = found["number"]
            cur.execute(
                "INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status,"
                " outcome, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (delivery_id, number, result.started_at, result.duration_ms, result.status,
                 result.outcome, result.message),
            )  # fmt: skip
            cur.execute(
                "UPDATE deliveries SET state = ?, attempts = ?, last_status = ?,"
                " last_error = ?, request = COALESCE(?, request), run_id = ?, run_url = ?,"
                # a new attempt starts a new run: reports of an earlier one no longer apply
                " run_status = NULL, run_conclusion = NULL, run_attempt = NULL,"
                " next_attempt_at = COALESCE(?, next_attempt_at), finished_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                (
                    after.state, number, result.status, after.error, after.request,
                    result.run_id, result.run_url, result.next_attempt_at, after.finished_at,
                    delivery_id, owner,
                ),
            )  # fmt: skip
            return cur.rowcount == 1

    def next_due_at(
        self, *, now: float | None = None, pacing: Pacing | None = None
    ) -> float | None:
        with self._tx(write=False) as cur:
            if pacing is not None and pacing.credentials and now is not None:
                return self._paced_due_at(cur, now, pacing)
            # Deliveries waiting for an earlier one of their instance are not due: the
            # earlier one's own time counts for them.
            cur.execute(
                f"SELECT MIN({self._greatest}(d.next_attempt_at, COALESCE(d.lease_until, 0)))"
                f" AS due FROM deliveries d JOIN events e ON e.pk = d.event_pk"
                f" WHERE d.state = 'pending' AND {IN_TURN}"
            )
            row = cur.fetchone()
        return float(row["due"]) if row and row["due"] is not None else None

    # -- replays and retention --------------------------------------------------------------

    def requeue_event(self, event_id: str, *, source: str | None, now: float) -> int:
        sql = "SELECT pk FROM events WHERE event_id = ?" + (" AND source = ?" if source else "")
        params = (event_id, source) if source else (event_id,)
        return self._requeue(f"event_pk IN ({sql})", params, now)

    def requeue_failed(self, *, now: float) -> int:
        return self._requeue("state = 'failed'", (), now)

    def requeue_delivery(self, delivery_id: str, *, now: float) -> int:
        # A lease held now means an attempt is in flight: requeueing would race its result.
        return self._requeue(
            "id = ? AND (lease_until IS NULL OR lease_until < ?)", (delivery_id, now), now
        )

    def prune(
        self,
        *,
        before: float,
        include_failed: bool = False,
        unrouted_only: bool = False,
        dry_run: bool = False,
    ) -> int:
        """Delete events received before ``before`` whose deliveries are all finished
        (delivered or dry run; also failed with ``include_failed``), with their deliveries
        and attempts; with ``unrouted_only``, only events no route matched. Pending
        deliveries are never pruned. Returns how many events went (``dry_run``: how many
        would go; nothing is deleted)."""
        kept = "'pending'" if include_failed else "'pending', 'failed'"
        doomed = (
            "SELECT pk FROM events e WHERE e.received_at < ? AND NOT EXISTS"
            f" (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.state IN ({kept}))"
        )
        if unrouted_only:
            doomed += " AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk)"
        with self._tx() as cur:
            cur.execute(doomed, (before,))
            pks = [row["pk"] for row in cur.fetchall()]
            if dry_run:
                return len(pks)
            for chunk in _chunks(pks, 500):
                marks = ",".join("?" * len(chunk))
                deliveries = f"SELECT id FROM deliveries WHERE event_pk IN ({marks})"
                cur.execute(f"DELETE FROM attempts WHERE delivery_id IN ({deliveries})", chunk)
                cur.execute(f"DELETE FROM deliveries WHERE event_pk IN ({marks})", chunk)
                cur.execute(f"DELETE FROM events WHERE pk IN ({marks})", chunk)
        return len(pks)

    def _requeue(self, where: str, params: tuple[Any, ...], now: float) -> int:
        with self._tx() as cur:
            # Details that could not be had (a key since fixed, a resource back) are asked
            # for again by the replayed deliveries.
            cur.execute(
                "UPDATE events SET details_error = NULL WHERE details IS NULL"
                " AND details_error IS NOT NULL"
                f" AND pk IN (SELECT event_pk FROM deliveries WHERE {where})",
                params,
            )
            cur.execute(
                "UPDATE deliveries SET state = 'pending', queued_at = ?, next_attempt_at = ?,"
                " finished_at = NULL, lease_owner = NULL, lease_until = NULL,"
                f" stuck_alerted_at = NULL WHERE {where}",
                (now, now, *params),
            )
            return cur.rowcount


def event_values(event: Event, body: bytes, now: float) -> tuple[Any, ...]:
    """A new event's ``events`` columns, in order: source, event_id, provider, type,
    old_state, new_state, instance_type, instance_id, timestamp, body, received_at (``now``),
    occurred_at."""
    instance = event.instance
    return (
        event.source, event.id, event.provider, event.type, event.old_state, event.new_state,
        instance.type if instance else None, instance.id if instance else None,
        event.timestamp, body, now, occurred_at(event.timestamp, now),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AfterAttempt:
    """What an attempt's result makes of its delivery's columns."""

    state: str  # pending (a retry), delivered, failed or dry_run
    error: str | None  # last_error: the message of a retry or a failure
    request: str | None  # the request sent, as JSON (None: keep the one recorded)
    finished_at: float | None  # None while the delivery is pending

    @classmethod
    def of(cls, result: AttemptResult) -> AfterAttempt:
        state = {"delivered": "delivered", "retry": "pending", "failed": "failed"}.get(
            result.outcome, "dry_run"
        )
        return cls(
            state,
            None if result.outcome in ("delivered", "dry_run") else result.message,
            json.dumps(result.request) if result.request is not None else None,
            None if state == "pending" else result.started_at,
        )


def occurred_at(timestamp: str | None, received_at: float) -> float:
    """When an event happened, in epoch seconds: its ISO 8601 ``timestamp`` (App Store
    Connect's, with or without fractions of a second), else when it was received."""
    if timestamp:
        try:
            parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            return received_at
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return received_at


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
