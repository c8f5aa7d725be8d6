"""The outbox's hot statements on PostgreSQL, each one round trip and its own transaction.

The shared SQL (:mod:`bridge.store.outbox_sql`) runs a statement per row inside
``BEGIN`` … ``COMMIT``: on SQLite that costs function calls, on PostgreSQL a network round trip
each. Here the statements every event and every attempt run are single statements with
data-modifying CTEs (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING)
executed in autocommit mode: a single statement is a transaction of its own, committed (and its
WAL flushed, ``synchronous_commit`` on) before the server answers, so ``BEGIN`` and ``COMMIT``
round trips are not needed (https://www.postgresql.org/docs/current/sql-begin.html).

Same results as the shared SQL: the tests run both backends through the same cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from bridge.events import Event
from bridge.store.outbox_sql import AfterAttempt, event_values
from bridge.store.records import AttemptResult, Recorded
from bridge.store.sql_base import Row

# The event, then one delivery per route, in route order (``seq`` follows insertion order).
# ON CONFLICT DO NOTHING is the race-free dedupe: a concurrent insert of the same key waits
# for the first transaction, then inserts nothing and returns no row, and so no delivery is
# inserted either. A data-modifying CTE runs exactly once whether or not the main query reads
# it, and sees the rows the CTE before it returned.
_RECORD_EVENT = """\
WITH new_event AS (
    INSERT INTO events (source, event_id, provider, type, old_state, new_state, instance_type,
                        instance_id, timestamp, body, received_at, occurred_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING pk
), new_deliveries AS (
    INSERT INTO deliveries (id, event_pk, route, state, created_at, queued_at, next_attempt_at)
    SELECT r.id, new_event.pk, r.route, 'pending', %s, %s, %s
    FROM new_event, unnest(%s::text[], %s::text[]) WITH ORDINALITY AS r (id, route, n)
    ORDER BY r.n
)
SELECT pk FROM new_event"""

# The attempt is recorded whenever the delivery still exists (as the shared SQL does); the
# delivery's new state only while this owner still holds its lease. All parts see one snapshot;
# the UPDATE re-checks the lease on the row's latest version.
_FINISH = """\
WITH target AS (
    SELECT id, attempts + 1 AS number FROM deliveries WHERE id = %(id)s
), attempt AS (
    INSERT INTO attempts (delivery_id, number, started_at, duration_ms, status, outcome, message)
    SELECT id, number, %(started_at)s::double precision, %(duration_ms)s::double precision,
           %(status)s::integer, %(outcome)s::text, %(message)s::text
    FROM target
), updated AS (
    UPDATE deliveries d
    SET state = %(state)s, attempts = target.number, last_status = %(status)s::integer,
        last_error = %(error)s::text, request = COALESCE(%(request)s::text, d.request),
        run_id = %(run_id)s::bigint, run_url = %(run_url)s::text,
        -- a new attempt starts a new run: reports of an earlier one no longer apply
        run_status = NULL, run_conclusion = NULL, run_attempt = NULL,
        next_attempt_at = COALESCE(%(next_attempt_at)s::double precision, d.next_attempt_at),
        finished_at = %(finished_at)s::double precision, lease_owner = NULL, lease_until = NULL
    FROM target
    WHERE d.id = target.id AND d.lease_owner = %(owner)s
    RETURNING d.id
)
SELECT (SELECT count(*) FROM target) AS found, (SELECT count(*) FROM updated) AS updated"""

_EXTEND_LEASES = """\
UPDATE deliveries d SET lease_until = %s
FROM unnest(%s::text[], %s::text[]) AS held (id, owner)
WHERE d.id = held.id AND d.lease_owner = held.owner AND d.state = 'pending'
RETURNING d.id"""


class PostgresOutbox:
    """``record_event``, ``finish`` and ``extend_leases`` as one statement each, for
    :class:`bridge.store.postgres.PostgresStore` (listed before the shared SQL it replaces)."""

    def _statement(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[Row]:
        """Run one statement as its own transaction (autocommit) and return its rows.
        Raises StoreUnavailableError when the database cannot be reached."""
        raise NotImplementedError

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        """The event and one pending delivery per route, in one round trip; a duplicate
        ``(source, id)`` stores nothing. Raises StoreUnavailableError."""
        ids = [str(uuid.uuid4()) for _ in routes]
        rows = self._statement(
            _RECORD_EVENT, (*event_values(event, body, now), now, now, now, ids, list(routes))
        )
        if not rows:
            return Recorded(duplicate=True)
        return Recorded(duplicate=False, delivery_ids=tuple(ids))

    def finish(self, delivery_id: str, *, owner: str, result: AttemptResult) -> bool:
        """Record the attempt and the delivery's new state in one round trip. False when the
        delivery is gone (pruned) or ``owner`` lost its lease (the attempt is still recorded
        then). Raises StoreUnavailableError."""
        after = AfterAttempt.of(result)
        params = {
            "id": delivery_id,
            "owner": owner,
            "state": after.state,
            "started_at": result.started_at,
            "duration_ms": result.duration_ms,
            "status": result.status,
            "outcome": result.outcome,
            "message": result.message,
            "error": after.error,
            "request": after.request,
            "run_id": result.run_id,
            "run_url": result.run_url,
            "next_attempt_at": result.next_attempt_at,
            "finished_at": after.finished_at,
        }
        [row] = self._statement(_FINISH, params)
        return bool(row["found"]) and row["updated"] == 1

    def extend_leases(self, leases: Sequence[tuple[str, str]], *, until: float) -> set[str]:
        """Extend every lease still held, in one round trip; returns the ids extended.
        Raises StoreUnavailableError."""
        if not leases:
            return set()
        ids = [delivery_id for delivery_id, _ in leases]
        owners = [owner for _, owner in leases]
        return {row["id"] for row in self._statement(_EXTEND_LEASES, (until, ids, owners))}
