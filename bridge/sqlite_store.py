"""The embedded SQLite store (the default): one file, WAL mode, safe across the threads and
gunicorn worker processes of one machine. https://www.sqlite.org/wal.html"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError, StoreUnavailableError
from bridge.events import Event, Instance
from bridge.store import Claim, DeliveryRecord, EventRecord, Outcome, Recorded
from bridge.store_schema import MIGRATIONS

_EVENT_COLUMNS = (
    "e.source, e.provider, e.type, e.event_id, e.old_state, e.new_state, e.received_at, e.pk"
)


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs/path.db`` → ``/abs/path.db``."""
    path = url.removeprefix("sqlite:").removeprefix("//").removeprefix("/")
    if not path or path == ":memory:":
        raise ConfigError("DATABASE_URL: give SQLite a file path, e.g. sqlite:///bridge.db")
    return path


class SQLiteStore:
    def __init__(self, path: str, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"DATABASE_URL: cannot create the folder for {path}: {exc}") from exc
        self._migrate()

    # -- connections and transactions -------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,  # explicit BEGIN below
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a 202 means the event is on disk, even if the machine loses power.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Cursor]:
        """A transaction; ``BEGIN IMMEDIATE`` takes the write lock up front so two writers
        never deadlock upgrading a read lock. Database errors become StoreUnavailableError."""
        try:
            conn = self._connection()
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path}: {exc}") from exc

    def _migrate(self) -> None:
        with self._tx() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            current = cur.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations VALUES (?, strftime('%s', 'now'))", (version,)
                )

    # -- intake -----------------------------------------------------------------------------

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        instance = event.instance
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO events (source, event_id, provider, type, old_state, new_state,"
                " instance_type, instance_id, timestamp, body, received_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source, event_id) DO NOTHING",
                (
                    event.source, event.id, event.provider, event.type, event.old_state,
                    event.new_state, instance.type if instance else None,
                    instance.id if instance else None, event.timestamp, body, now,
                ),
            )  # fmt: skip
            if cur.rowcount == 0:
                return Recorded(duplicate=True)
            event_pk = cur.lastrowid
            ids = tuple(str(uuid.uuid4()) for _ in routes)
            cur.executemany(
                "INSERT INTO deliveries (id, event_pk, route, state, created_at, queued_at,"
                " next_attempt_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [(i, event_pk, r, now, now, now) for i, r in zip(ids, routes, strict=True)],
            )
        return Recorded(duplicate=False, delivery_ids=ids)

    # -- outbox -----------------------------------------------------------------------------

    def claim_due(self, *, owner: str, now: float, lease: float, limit: int) -> list[Claim]:
        with self._tx() as cur:
            rows = cur.execute(
                "SELECT d.id, d.route, d.attempts, d.queued_at, e.source, e.provider, e.type,"
                " e.event_id, e.old_state, e.new_state, e.instance_type, e.instance_id,"
                " e.timestamp, e.body FROM deliveries d JOIN events e ON e.pk = d.event_pk"
                " WHERE d.state = 'pending' AND d.next_attempt_at <= ?"
                " AND (d.lease_until IS NULL OR d.lease_until < ?)"
                " ORDER BY d.next_attempt_at LIMIT ?",
                (now, now, limit),
            ).fetchall()
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
            number = cur.execute(
                "SELECT attempts + 1 FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()[0]
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

    def release(self, delivery_ids: Sequence[str], *, owner: str) -> None:
        with self._tx() as cur:
            cur.executemany(
                "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL"
                " WHERE id = ? AND lease_owner = ?",
                [(i, owner) for i in delivery_ids],
            )

    def next_due_at(self) -> float | None:
        with self._tx(write=False) as cur:
            row = cur.execute(
                "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0))) FROM deliveries"
                " WHERE state = 'pending'"
            ).fetchone()
        return float(row[0]) if row[0] is not None else None

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

    def _requeue(self, where: str, params: tuple[Any, ...], now: float) -> int:
        with self._tx() as cur:
            cur.execute(
                "UPDATE deliveries SET state = 'pending', queued_at = ?, next_attempt_at = ?,"
                f" finished_at = NULL, lease_owner = NULL, lease_until = NULL WHERE {where}",
                (now, now, *params),
            )
            return cur.rowcount

    def _events(self, sql: str, params: Sequence[Any]) -> list[EventRecord]:
        with self._tx(write=False) as cur:
            events = cur.execute(sql, params).fetchall()
            pks = [e["pk"] for e in events]
            marks = ",".join("?" * len(pks))
            deliveries = cur.execute(
                "SELECT event_pk, id, route, state, attempts, next_attempt_at, last_status,"
                f" last_error, run_url, request FROM deliveries WHERE event_pk IN ({marks})"
                " ORDER BY created_at, rowid",
                pks,
            ).fetchall()
        by_event: dict[int, list[DeliveryRecord]] = {}
        for d in deliveries:
            by_event.setdefault(d["event_pk"], []).append(_delivery(d))
        return [
            EventRecord(
                source=e["source"], provider=e["provider"], type=e["type"],
                event_id=e["event_id"], old_state=e["old_state"], new_state=e["new_state"],
                received_at=e["received_at"], deliveries=tuple(by_event.get(e["pk"], ())),
            )
            for e in events
        ]  # fmt: skip

    def ping(self) -> None:
        with self._tx(write=False) as cur:
            cur.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()


def _claim(row: sqlite3.Row) -> Claim:
    instance = (
        Instance(type=row["instance_type"], id=row["instance_id"])
        if row["instance_type"] is not None and row["instance_id"] is not None
        else None
    )
    event = Event(
        source=row["source"], provider=row["provider"], type=row["type"], id=row["event_id"],
        old_state=row["old_state"], new_state=row["new_state"], instance=instance,
        timestamp=row["timestamp"], payload=json.loads(bytes(row["body"])),
    )  # fmt: skip
    return Claim(row["id"], row["route"], row["attempts"], row["queued_at"], event)


def _delivery(row: sqlite3.Row) -> DeliveryRecord:
    request = json.loads(row["request"]) if row["request"] else None
    return DeliveryRecord(
        id=row["id"], route=row["route"], state=row["state"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], last_status=row["last_status"],
        last_error=row["last_error"], run_url=row["run_url"], request=request,
    )  # fmt: skip
