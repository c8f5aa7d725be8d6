"""Stuck deliveries in SQL: pending too long or after too many attempts, each taken once for
``alerts.stuck`` (the mark and the read in one transaction; on PostgreSQL the rows are locked
so that two processes never both take one)."""

from __future__ import annotations

from bridge.store.records import StuckDelivery
from bridge.store.sql_base import SQLStoreBase


class StuckDeliveriesSQL(SQLStoreBase):
    def take_stuck(
        self, *, queued_before: float, min_attempts: int, now: float, limit: int
    ) -> list[StuckDelivery]:
        with self._tx() as cur:
            cur.execute(
                "SELECT d.id, d.route, d.attempts, d.queued_at, d.last_error, e.source,"
                " e.event_id, e.type FROM deliveries d JOIN events e ON e.pk = d.event_pk"
                " WHERE d.state = 'pending' AND d.stuck_alerted_at IS NULL"
                " AND (d.queued_at < ? OR d.attempts >= ?)"
                f" ORDER BY d.queued_at LIMIT ?{self._lock_claimed}",
                (queued_before, min_attempts, limit),
            )
            rows = cur.fetchall()
            if rows:
                cur.executemany(
                    "UPDATE deliveries SET stuck_alerted_at = ? WHERE id = ?",
                    [(now, row["id"]) for row in rows],
                )
        return [
            StuckDelivery(
                row["id"],
                row["route"],
                row["attempts"],
                float(row["queued_at"]),
                row["last_error"],
                row["source"],
                row["event_id"],
                row["type"],
            )
            for row in rows
        ]
