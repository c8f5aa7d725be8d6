"""Admin sessions in SQL: the generation every session cookie must carry (bumped by "log out
everywhere") and the sessions ended by logging out, shared by every process and instance.
"""

from __future__ import annotations

from bridge.store.sql_base import SQLStoreBase


class AdminSessionsSQL(SQLStoreBase):
    """session_generation, session_revoked, revoke_session and end_all_sessions."""

    def session_generation(self) -> int:
        with self._tx(write=False) as cur:
            row = cur.execute("SELECT generation FROM admin_sessions WHERE id = 1").fetchone()
        return int(row["generation"]) if row else 0

    def session_revoked(self, session_id: str) -> bool:
        with self._tx(write=False) as cur:
            cur.execute("SELECT 1 AS one FROM revoked_sessions WHERE session_id = ?", (session_id,))
            return cur.fetchone() is not None

    def revoke_session(self, session_id: str, *, now: float, forget_before: float) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO revoked_sessions (session_id, revoked_at) VALUES (?, ?)"
                " ON CONFLICT (session_id) DO NOTHING",
                (session_id, now),
            )
            # A session older than the absolute lifetime is refused anyway: forget it.
            cur.execute("DELETE FROM revoked_sessions WHERE revoked_at < ?", (forget_before,))

    def end_all_sessions(self) -> int:
        with self._tx() as cur:
            cur.execute("UPDATE admin_sessions SET generation = generation + 1 WHERE id = 1")
            row = cur.execute("SELECT generation FROM admin_sessions WHERE id = 1").fetchone()
        return int(row["generation"]) if row else 0
