"""The store's logic, once, in the SQL common to SQLite and PostgreSQL.

Backends (:mod:`bridge.store.sqlite`, :mod:`bridge.store.postgres`) supply connections,
transactions and migrations, and the few words their dialects spell differently. Statements
use ``?`` placeholders; every value is a bound parameter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bridge.events import Event, Instance
from bridge.store.records import (
    AttemptRecord,
    Claim,
    DeliveryRecord,
    DeliveryState,
    Details,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
    Outcome,
    Recorded,
    StateChange,
)

Row = Mapping[str, Any]

_EVENT_COLUMNS = (
    "e.source, e.provider, e.type, e.event_id, e.old_state, e.new_state, e.received_at, e.pk,"
    " e.instance_type, e.instance_id, e.timestamp"
)
# A job's lease outlives a crashed runner by at most this (the job may then run elsewhere).
JOB_LEASE = 600.0


class Cursor(Protocol):
    """What the store needs of a DB-API cursor (``?`` placeholders, rows by column name)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> Sequence[Row]: ...


class SQLStore:
    """Implements :class:`bridge.store.protocols.Store` but ``migrate`` and ``close``, which
    each backend supplies, on top of :meth:`_tx`."""

    # The dialects' words: SQLite's two-argument MAX() is PostgreSQL's GREATEST();
    # PostgreSQL locks claimed rows so concurrent claimers skip them (SQLite's BEGIN IMMEDIATE
    # already serializes writers).
    _greatest = "MAX"
    _lock_claimed = ""
    # Orders an event's deliveries as they were inserted (route order).
    _delivery_order = "created_at, rowid"
    # LIKE ignoring ASCII case (SQLite's LIKE does).
    _ilike = "LIKE"

    def _tx(self, *, write: bool = True) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

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
        instance = event.instance
        # ON CONFLICT DO NOTHING is the race-free dedupe: a concurrent insert of the same
        # key waits for the first transaction, then inserts nothing and returns no row.
        cur.execute(
            "INSERT INTO events (source, event_id, provider, type, old_state, new_state,"
            " instance_type, instance_id, timestamp, body, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (source, event_id) DO NOTHING RETURNING pk",
            (
                event.source, event.id, event.provider, event.type, event.old_state,
                event.new_state, instance.type if instance else None,
                instance.id if instance else None, event.timestamp, body, now,
            ),
        )  # fmt: skip
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

    # -- outbox -----------------------------------------------------------------------------

    def claim_due(self, *, owner: str, now: float, lease: float, limit: int) -> list[Claim]:
        with self._tx() as cur:
            cur.execute(
                "SELECT d.id, d.route, d.attempts, d.queued_at, e.source, e.provider, e.type,"
                " e.event_id, e.old_state, e.new_state, e.instance_type, e.instance_id,"
                " e.timestamp, e.body, e.details, e.details_error"
                " FROM deliveries d JOIN events e ON e.pk = d.event_pk"
                " WHERE d.state = 'pending' AND d.next_attempt_at <= ?"
                " AND (d.lease_until IS NULL OR d.lease_until < ?)"
                f" ORDER BY d.next_attempt_at LIMIT ?{self._lock_claimed}",
                (now, now, limit),
            )
            rows = cur.fetchall()
            if rows:
                cur.executemany(
                    "UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    [(owner, now + lease, row["id"]) for row in rows],
                )
        return [_claim(row) for row in rows]

    def finish(self, delivery_id: str, *, owner: str, result: Outcome) -> bool:
        state = {"delivered": "delivered", "retry": "pending", "failed": "failed"}.get(
            result.outcome, "dry_run"
        )
        finished_at = None if state == "pending" else result.started_at
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
                " next_attempt_at = COALESCE(?, next_attempt_at), finished_at = ?,"
                " lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                (
                    state, number, result.status,
                    None if result.outcome in ("delivered", "dry_run") else result.message,
                    json.dumps(result.request) if result.request is not None else None,
                    result.run_id, result.run_url, result.next_attempt_at, finished_at,
                    delivery_id, owner,
                ),
            )  # fmt: skip
            return cur.rowcount == 1

    def details(self, source: str, event_id: str) -> Details | None:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT details, details_error FROM events WHERE source = ? AND event_id = ?",
                (source, event_id),
            )
            row = cur.fetchone()
        return _details(row) if row else None

    def save_details(self, source: str, event_id: str, details: Details) -> Details:
        data = json.dumps(details.data) if details.data is not None else None
        with self._tx() as cur:
            cur.execute(
                "UPDATE events SET details = ?, details_error = ? WHERE source = ?"
                " AND event_id = ? AND details IS NULL AND details_error IS NULL",
                (data, details.error, source, event_id),
            )
            if cur.rowcount == 1:
                return details
            cur.execute(
                "SELECT details, details_error FROM events WHERE source = ? AND event_id = ?",
                (source, event_id),
            )
            row = cur.fetchone()
        return (_details(row) if row else None) or details

    def instance_history(self, instance_type: str, instance_id: str) -> list[StateChange]:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT type, old_state, new_state, timestamp, received_at, event_id FROM events"
                " WHERE instance_type = ? AND instance_id = ? ORDER BY pk",
                (instance_type, instance_id),
            )
            rows = cur.fetchall()
        return [
            StateChange(
                r["type"], r["old_state"], r["new_state"], r["timestamp"], r["received_at"],
                r["event_id"],
            )
            for r in rows
        ]  # fmt: skip

    def lease_job(self, name: str, *, owner: str, now: float, every: float) -> bool:
        with self._tx() as cur:
            cur.execute("INSERT INTO jobs (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            cur.execute(
                "UPDATE jobs SET lease_owner = ?, lease_until = ?, last_run_at = ? WHERE name = ?"
                " AND (lease_until IS NULL OR lease_until < ?)"
                " AND (last_run_at IS NULL OR last_run_at <= ?)",
                (owner, now + JOB_LEASE, now, name, now, now - every),
            )
            return cur.rowcount == 1

    def finish_job(self, name: str, *, owner: str, now: float, result: str) -> None:
        with self._tx() as cur:
            cur.execute(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, last_result = ?"
                " WHERE name = ? AND lease_owner = ?",
                (result, name, owner),
            )

    def next_due_at(self) -> float | None:
        with self._tx(write=False) as cur:
            cur.execute(
                f"SELECT MIN({self._greatest}(next_attempt_at, COALESCE(lease_until, 0)))"
                " AS due FROM deliveries WHERE state = 'pending'"
            )
            row = cur.fetchone()
        return float(row["due"]) if row and row["due"] is not None else None

    # -- operators --------------------------------------------------------------------------

    def recent_events(self, *, limit: int, source: str | None = None) -> list[EventRecord]:
        where, params = ("WHERE e.source = ?", [source]) if source else ("", [])
        return self._events(
            f"SELECT {_EVENT_COLUMNS} FROM events e {where} ORDER BY e.pk DESC LIMIT ?",
            [*params, limit],
        )

    def events_by_id(self, event_id: str, *, source: str | None = None) -> list[EventRecord]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.event_id = ?"
        params: list[Any] = [event_id]
        if source:
            sql += " AND e.source = ?"
            params.append(source)
        return self._events(sql + " ORDER BY e.pk", params)

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

    def prune(self, *, before: float, include_failed: bool = False) -> int:
        """Delete events received before ``before`` whose deliveries are all finished
        (delivered or dry run; also failed with ``include_failed``), with their deliveries
        and attempts. Pending deliveries are never pruned. Returns how many events went."""
        kept = "'pending'" if include_failed else "'pending', 'failed'"
        doomed = (
            "SELECT pk FROM events e WHERE e.received_at < ? AND NOT EXISTS"
            f" (SELECT 1 FROM deliveries d WHERE d.event_pk = e.pk AND d.state IN ({kept}))"
        )
        with self._tx() as cur:
            cur.execute(doomed, (before,))
            pks = [row["pk"] for row in cur.fetchall()]
            for chunk in _chunks(pks, 500):
                marks = ",".join("?" * len(chunk))
                deliveries = f"SELECT id FROM deliveries WHERE event_pk IN ({marks})"
                cur.execute(f"DELETE FROM attempts WHERE delivery_id IN ({deliveries})", chunk)
                cur.execute(f"DELETE FROM deliveries WHERE event_pk IN ({marks})", chunk)
                cur.execute(f"DELETE FROM events WHERE pk IN ({marks})", chunk)
        return len(pks)

    # -- the delivery log -------------------------------------------------------------------

    def list_events(
        self, filters: EventFilter, *, limit: int, before: int | None = None
    ) -> EventPage:
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("source", filters.source), ("type", filters.type)):
            if value:
                where.append(f"e.{column} = ?")
                params.append(value)
        if filters.search:
            where.append(
                f"(e.event_id {self._ilike} ? ESCAPE '\\'"
                " OR e.pk IN (SELECT x.event_pk FROM deliveries x WHERE x.id = ?))"
            )
            params += [f"%{_like_escape(filters.search)}%", filters.search]
        if filters.state:
            # Driven by deliveries (state, event_pk), newest first: a rare state (failed) reads
            # only its few rows, a common one (delivered) stops after one page.
            key, where = "d.event_pk", ["d.state = ?", *where]
            params.insert(0, filters.state)
            pks = "SELECT DISTINCT d.event_pk FROM deliveries d JOIN events e ON e.pk = d.event_pk"
        else:
            key, pks = "e.pk", "SELECT e.pk FROM events e"
        if before is not None:
            where.append(f"{key} < ?")
            params.append(before)
        if where:
            pks += " WHERE " + " AND ".join(where)
        rows = self._load(
            f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.pk IN"
            f" ({pks} ORDER BY {key} DESC LIMIT ?) ORDER BY e.pk DESC",
            [*params, limit + 1],
        )
        more = len(rows) > limit
        return EventPage(
            events=tuple(record for _, record in rows[:limit]),
            next_cursor=rows[limit - 1][0] if more and limit > 0 else None,
        )

    def event_detail(self, source: str, event_id: str) -> EventDetail | None:
        rows = self._load(
            f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.source = ? AND e.event_id = ?",
            (source, event_id),
        )
        if not rows:
            return None
        pk, record = rows[0]
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT source, provider, type, event_id, old_state, new_state, instance_type,"
                " instance_id, timestamp, body, details, details_error FROM events WHERE pk = ?",
                (pk,),
            )
            row = cur.fetchone()
            found: list[Row] = []
            ids = [d.id for d in record.deliveries]
            if ids:
                cur.execute(
                    "SELECT delivery_id, number, started_at, duration_ms, status, outcome,"
                    f" message FROM attempts WHERE delivery_id IN ({','.join('?' * len(ids))})"
                    " ORDER BY number",
                    ids,
                )
                found = list(cur.fetchall())
        if row is None:  # pruned between the two reads
            return None
        attempts: dict[str, list[AttemptRecord]] = {i: [] for i in ids}
        for a in found:
            attempts[a["delivery_id"]].append(
                AttemptRecord(
                    number=a["number"], started_at=a["started_at"], duration_ms=a["duration_ms"],
                    status=a["status"], outcome=a["outcome"], message=a["message"],
                )
            )  # fmt: skip
        return EventDetail(
            record=record,
            event=_event(row),
            body=bytes(row["body"]),
            attempts={i: tuple(a) for i, a in attempts.items()},
            details=_details(row),
        )

    def outbox_stats(self, *, states: Sequence[DeliveryState] | None = None) -> OutboxStats:
        sql, params = "SELECT state, COUNT(*) AS n FROM deliveries", list(states or ())
        if states is not None:
            sql += f" WHERE state IN ({','.join('?' * len(states)) or 'NULL'})"
        with self._tx(write=False) as cur:
            cur.execute(f"{sql} GROUP BY state", params)
            counts = {row["state"]: int(row["n"]) for row in cur.fetchall()}
            cur.execute("SELECT MIN(queued_at) AS oldest FROM deliveries WHERE state = 'pending'")
            row = cur.fetchone()
        oldest = row["oldest"] if row else None
        return OutboxStats(counts, float(oldest) if oldest is not None else None)

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
                f" finished_at = NULL, lease_owner = NULL, lease_until = NULL WHERE {where}",
                (now, now, *params),
            )
            return cur.rowcount

    def _events(self, sql: str, params: Sequence[Any]) -> list[EventRecord]:
        return [record for _, record in self._load(sql, params)]

    def _load(self, sql: str, params: Sequence[Any]) -> list[tuple[int, EventRecord]]:
        """Events selected by ``sql`` (``_EVENT_COLUMNS``) with their deliveries, each with
        its primary key (the delivery log's cursor)."""
        with self._tx(write=False) as cur:
            cur.execute(sql, params)
            events = cur.fetchall()
            pks = [e["pk"] for e in events]
            deliveries: list[Row] = []
            if pks:
                marks = ",".join("?" * len(pks))
                cur.execute(
                    "SELECT event_pk, id, route, state, attempts, next_attempt_at, last_status,"
                    f" last_error, run_url, request FROM deliveries WHERE event_pk IN ({marks})"
                    f" ORDER BY {self._delivery_order}",
                    pks,
                )
                deliveries = list(cur.fetchall())
        by_event: dict[int, list[DeliveryRecord]] = {}
        for d in deliveries:
            by_event.setdefault(d["event_pk"], []).append(_delivery(d))
        return [
            (e["pk"], EventRecord(
                source=e["source"], provider=e["provider"], type=e["type"],
                event_id=e["event_id"], old_state=e["old_state"], new_state=e["new_state"],
                received_at=e["received_at"], deliveries=tuple(by_event.get(e["pk"], ())),
                instance_type=e["instance_type"], instance_id=e["instance_id"],
                timestamp=e["timestamp"],
            ))
            for e in events
        ]  # fmt: skip

    def ping(self) -> None:
        with self._tx(write=False) as cur:
            cur.execute("SELECT 1 AS one")
            cur.fetchone()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _event(row: Row) -> Event:
    instance = (
        Instance(type=row["instance_type"], id=row["instance_id"])
        if row["instance_type"] is not None and row["instance_id"] is not None
        else None
    )
    return Event(
        source=row["source"], provider=row["provider"], type=row["type"], id=row["event_id"],
        old_state=row["old_state"], new_state=row["new_state"], instance=instance,
        timestamp=row["timestamp"], payload=json.loads(bytes(row["body"])),
    )  # fmt: skip


def _claim(row: Row) -> Claim:
    event = _event(row)
    return Claim(row["id"], row["route"], row["attempts"], row["queued_at"], event, _details(row))


def _details(row: Row) -> Details | None:
    if row["details"] is None and row["details_error"] is None:
        return None
    data = json.loads(row["details"]) if row["details"] is not None else None
    return Details(data, row["details_error"])


def _delivery(row: Row) -> DeliveryRecord:
    request = json.loads(row["request"]) if row["request"] else None
    return DeliveryRecord(
        id=row["id"], route=row["route"], state=row["state"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], last_status=row["last_status"],
        last_error=row["last_error"], run_url=row["run_url"], request=request,
    )  # fmt: skip
