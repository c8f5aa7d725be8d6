"""How the workflow runs bridge started went: GitHub's ``workflow_run`` reports matched to the
delivery that started each run, and kept on it.

A report finds its delivery by the run id GitHub returned for a ``workflow_dispatch``, or by
the delivery id the run-name carries (``repository_dispatch`` returns no run id). Either way
the delivery's recorded request must have gone to the report's repository, so that a run in
another repository cannot claim a delivery by naming its id.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from bridge.store.records import RunReport, RunUpdate
from bridge.store.sql_base import Cursor, Row, SQLStoreBase

# How far a run has got, so that a late report never moves it back (GitHub does not promise
# to deliver requested → in_progress → completed in that order).
_RANK = {"requested": 0, "queued": 1, "pending": 1, "waiting": 1, "in_progress": 2, "completed": 3}
_RANK_SQL = (
    "CASE run_status WHEN 'completed' THEN 3 WHEN 'in_progress' THEN 2"
    " WHEN 'requested' THEN 0 ELSE 1 END"
)
_COLUMNS = (
    "SELECT d.id, d.route, d.request, d.run_id, e.source, e.event_id, e.type"
    " FROM deliveries d JOIN events e ON e.pk = d.event_pk"
)


class RunsSQL(SQLStoreBase):
    """record_run."""

    def record_run(self, report: RunReport, *, now: float) -> RunUpdate | None:
        with self._tx() as cur:
            row = self._delivery_for(cur, report)
            if row is None:
                return None
            # One conditional UPDATE: concurrent reports of one run (two web workers) cannot
            # move it back, and a report of a stage already stored changes nothing (it is
            # counted and alerted once). Another run id is a newer run of a replayed delivery.
            cur.execute(
                "UPDATE deliveries SET run_id = ?, run_url = COALESCE(?, run_url),"
                " run_status = ?, run_conclusion = ?, run_attempt = ?, run_updated_at = ?"
                " WHERE id = ? AND (run_id IS NULL OR run_id <> ? OR run_attempt IS NULL"
                f" OR run_attempt < ? OR (run_attempt = ? AND {_RANK_SQL} < ?))",
                (
                    report.run_id, report.url, report.status, report.conclusion, report.attempt,
                    now, row["id"], report.run_id, report.attempt, report.attempt,
                    _RANK.get(report.status, 1),
                ),
            )  # fmt: skip
            changed = cur.rowcount == 1
        return RunUpdate(
            row["id"], row["route"], row["source"], row["event_id"], changed, row["type"]
        )

    def _delivery_for(self, cur: Cursor, report: RunReport) -> Row | None:
        cur.execute(f"{_COLUMNS} WHERE d.run_id = ?", (report.run_id,))
        rows = list(cur.fetchall())
        if not rows and report.delivery_id is not None:
            cur.execute(f"{_COLUMNS} WHERE d.id = ?", (report.delivery_id,))
            rows = list(cur.fetchall())
        for row in rows:
            if report.repository and _repository(row["request"]) == report.repository.lower():
                return row
        return None


def _repository(request: str | None) -> str | None:
    """``owner/name`` (lower-case) of a recorded request's path ``/repos/{owner}/{name}/…``."""
    if not request:
        return None
    path = json.loads(request).get("path")
    parts = path.split("/") if isinstance(path, str) else []
    if len(parts) < 4 or parts[1] != "repos":
        return None
    return f"{unquote(parts[2])}/{unquote(parts[3])}".lower()
