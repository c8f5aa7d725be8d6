"""What the SQL shared by SQLite and PostgreSQL stands on: a cursor, one transaction method the
backends supply, the words their dialects spell differently, and rows turned into records.

Statements use ``?`` placeholders; every value is a bound parameter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from bridge.events import Event, Instance
from bridge.store.records import Claim, DeliveryRecord, Details

Row = Mapping[str, Any]


class Cursor(Protocol):
    """What the store needs of a DB-API cursor (``?`` placeholders, rows by column name)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> Sequence[Row]: ...


class SQLStoreBase:
    """The base of every SQL mixin of :class:`bridge.store.sql.SQLStore`: a backend overrides
    :meth:`_tx` and, where its dialect differs from SQLite's, the words below."""

    # SQLite's two-argument MAX() is PostgreSQL's GREATEST().
    _greatest = "MAX"
    # Appended to the claim's SELECT: PostgreSQL locks claimed rows so concurrent claimers
    # skip them (SQLite's BEGIN IMMEDIATE already serializes writers).
    _lock_claimed = ""
    # Run first by claims that pace GitHub sends (bridge.store.pacing_sql), so that two never
    # count the same sends; SQLite's BEGIN IMMEDIATE already serializes writers.
    _pacing_lock = ""
    # Orders an event's deliveries as they were inserted (route order).
    _delivery_order = "created_at, rowid"
    # A claimed delivery's insertion order (d: deliveries): route order within an event.
    _inserted = "d.rowid"
    # SQLite, without statistics, can pick an index that walks every due delivery: the claims
    # of fresh deliveries name theirs (PostgreSQL plans with statistics: nothing).
    _indexed_by = " INDEXED BY {}"
    # LIKE ignoring ASCII case (SQLite's LIKE does).
    _ilike = "LIKE"

    def _tx(self, *, write: bool = True) -> AbstractContextManager[Cursor]:
        """One transaction: committed when the block ends, rolled back when it raises.
        ``write=False`` promises the block only reads: SQLite then takes no write lock.
        Raises StoreUnavailableError when the database cannot be reached."""
        raise NotImplementedError


def event_from_row(row: Row) -> Event:
    """The normalized event, rebuilt from an ``events`` row with its ``body``."""
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


def details_from_row(row: Row) -> Details | None:
    """The event's ``details`` / ``details_error`` columns; None when neither is set."""
    if row["details"] is None and row["details_error"] is None:
        return None
    data = json.loads(row["details"]) if row["details"] is not None else None
    return Details(data, row["details_error"])


def claim_from_row(row: Row, lease_owner: str) -> Claim:
    """A claimed delivery joined with its event (columns of both)."""
    event = event_from_row(row)
    return Claim(
        row["id"], row["route"], row["attempts"], row["queued_at"], event,
        details_from_row(row), lease_owner,
    )  # fmt: skip


def delivery_from_row(row: Row) -> DeliveryRecord:
    request = json.loads(row["request"]) if row["request"] else None
    return DeliveryRecord(
        id=row["id"], route=row["route"], state=row["state"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], last_status=row["last_status"],
        last_error=row["last_error"], run_url=row["run_url"], request=request,
        run_status=row["run_status"], run_conclusion=row["run_conclusion"],
    )  # fmt: skip
