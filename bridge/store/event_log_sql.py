"""The operators' view in SQL: events with their deliveries (recent, by id, filtered and
paged for the delivery log), one event's detail with every attempt, the outbox's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.store.records import (
    AttemptRecord,
    DeliveryRecord,
    DeliveryState,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
)
from bridge.store.sql_base import (
    Row,
    SQLStoreBase,
    delivery_from_row,
    details_from_row,
    event_from_row,
)

_EVENT_COLUMNS = (
    "e.source, e.provider, e.type, e.event_id, e.old_state, e.new_state, e.received_at, e.pk,"
    " e.instance_type, e.instance_id, e.timestamp"
)


class EventLogSQL(SQLStoreBase):
    """recent_events, events_by_id, list_events, event_detail and outbox_stats."""

    # -- events and their deliveries --------------------------------------------------------

    def latest_details_error(self, *, within: int = 1000) -> str | None:
        # Bounded to the newest `within` events: /readyz asks often, and most events of a
        # deployment without enrichment have neither column set.
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT details_error FROM events WHERE pk > (SELECT COALESCE(MAX(pk), 0) - ?"
                " FROM events) AND (details IS NOT NULL OR details_error IS NOT NULL)"
                " ORDER BY pk DESC LIMIT 1",
                (within,),
            )
            row = cur.fetchone()
        return str(row["details_error"]) if row and row["details_error"] is not None else None

    def recent_events(self, *, limit: int, source: str | None = None) -> list[EventRecord]:
        where, params = ("WHERE e.source = ?", [source]) if source else ("", [])
        return self._events(
            f"SELECT {_EVENT_COLUMNS} FROM events e {where} ORDER BY e.pk DESC LIMIT ?",
            [*params, limit],
        )

    def last_received_at(self, source: str) -> float | None:
        with self._tx(write=False) as cur:
            # The newest event of the source by the (source, pk) index: no scan.
            cur.execute(
                "SELECT received_at FROM events WHERE source = ? ORDER BY pk DESC LIMIT 1",
                (source,),
            )
            row = cur.fetchone()
        return float(row["received_at"]) if row is not None else None

    def events_by_id(self, event_id: str, *, source: str | None = None) -> list[EventRecord]:
        sql = f"SELECT {_EVENT_COLUMNS} FROM events e WHERE e.event_id = ?"
        params: list[Any] = [event_id]
        if source:
            sql += " AND e.source = ?"
            params.append(source)
        return self._events(sql + " ORDER BY e.pk", params)

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
            event=event_from_row(row),
            body=bytes(row["body"]),
            attempts={i: tuple(a) for i, a in attempts.items()},
            details=details_from_row(row),
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
                    " last_error, run_url, run_status, run_conclusion, request"
                    f" FROM deliveries WHERE event_pk IN ({marks})"
                    f" ORDER BY {self._delivery_order}",
                    pks,
                )
                deliveries = list(cur.fetchall())
        by_event: dict[int, list[DeliveryRecord]] = {}
        for d in deliveries:
            by_event.setdefault(d["event_pk"], []).append(delivery_from_row(d))
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


def _like_escape(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
