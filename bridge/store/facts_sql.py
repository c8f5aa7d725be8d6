"""An event's facts in SQL: the App Store Connect details stored with it (fetched once, kept
by the first process to save them) and the history of the instance it is about.
"""

from __future__ import annotations

import json

from bridge.store.records import Details, StateChange
from bridge.store.sql_base import SQLStoreBase, details_from_row


class EventFactsSQL(SQLStoreBase):
    """details, save_details and instance_history."""

    def details(self, source: str, event_id: str) -> Details | None:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT details, details_error FROM events WHERE source = ? AND event_id = ?",
                (source, event_id),
            )
            row = cur.fetchone()
        return details_from_row(row) if row else None

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
        return (details_from_row(row) if row else None) or details

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
