"""Job leases in SQL: one row per job, taken by one process at a time across the deployment,
and only once its interval has passed since the last run.
"""

from __future__ import annotations

from bridge.store.sql_base import SQLStoreBase

# A job's lease outlives a crashed runner by at most this (the job may then run elsewhere).
JOB_LEASE = 600.0


class JobLeasesSQL(SQLStoreBase):
    """lease_job and finish_job."""

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
