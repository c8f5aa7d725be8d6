"""How bridge's credentials are doing, kept in the store so every process (web workers, a
``bridge worker``) reports the same: when each was last accepted, last refused and why, and
when a GitHub token expires."""

from __future__ import annotations

from bridge.store.records import CredentialState
from bridge.store.sql_base import SQLStoreBase


class CredentialsSQL(SQLStoreBase):
    """note_credential, credential_states."""

    def note_credential(
        self, name: str, *, now: float, refused: str | None = None, expires_at: float | None = None
    ) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO credentials (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,)
            )
            if refused is None:
                cur.execute(
                    "UPDATE credentials SET accepted_at = ?, refused_at = NULL,"
                    " refused_reason = NULL, expires_at = COALESCE(?, expires_at) WHERE name = ?",
                    (now, expires_at, name),
                )
            else:
                cur.execute(
                    "UPDATE credentials SET refused_at = ?, refused_reason = ? WHERE name = ?",
                    (now, refused[:500], name),
                )

    def credential_states(self) -> list[CredentialState]:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT name, accepted_at, refused_at, refused_reason, expires_at"
                " FROM credentials ORDER BY name"
            )
            rows = cur.fetchall()
        return [
            CredentialState(
                r["name"], r["accepted_at"], r["refused_at"], r["refused_reason"], r["expires_at"]
            )
            for r in rows
        ]
