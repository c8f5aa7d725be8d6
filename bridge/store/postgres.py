"""The PostgreSQL store, for several instances (dynos, machines) sharing one outbox.

``DATABASE_URL=postgres://…`` or ``postgresql://…`` as Heroku and Render set it; libpq reads
every URL parameter, ``sslmode`` included (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING).
Claims lock the claimed rows and skip rows other instances hold (``FOR UPDATE SKIP LOCKED``,
https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE), so N instances
share the outbox without sending a delivery twice; the lease still covers a holder that dies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from bridge.errors import ConfigError, StoreUnavailableError
from bridge.store.database_url import is_postgres_url
from bridge.store.migrations import POSTGRES_MIGRATIONS
from bridge.store.postgres_outbox import PostgresOutbox
from bridge.store.postgres_pool import PooledConnections
from bridge.store.sql import SQLStore
from bridge.store.sql_base import Row

# pg_advisory_xact_lock key: processes starting together apply migrations one at a time.
_MIGRATION_LOCK = 0x6272_6964_6765  # "bridge"
# pg_advisory_xact_lock key: claims that pace GitHub sends count them one at a time.
_PACING_LOCK = 0x6272_6964_6770  # "bridgp"
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


class _Cursor:
    """A psycopg cursor that takes the store's ``?`` placeholders."""

    def __init__(self, cursor: psycopg.Cursor[dict[str, Any]]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        self._cursor.execute(sql.replace("?", "%s"), params)
        return self

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> _Cursor:
        self._cursor.executemany(sql.replace("?", "%s"), params)
        return self

    def fetchone(self) -> Row | None:
        return self._cursor.fetchone()

    def fetchall(self) -> Sequence[Row]:
        return self._cursor.fetchall()


class PostgresStore(PostgresOutbox, SQLStore):
    """The store on PostgreSQL: the shared SQL, with the outbox's hot statements (intake,
    attempts, leases) as one round trip each (:mod:`bridge.store.postgres_outbox`)."""

    _greatest = "GREATEST"
    _lock_claimed = " FOR UPDATE OF d SKIP LOCKED"
    _pacing_lock = f"SELECT pg_advisory_xact_lock({_PACING_LOCK})"
    _delivery_order = "seq"
    _inserted = "d.seq"
    _indexed_by = ""
    # ASCII-only case folding, as SQLite's LIKE, and about 3 times faster than the locale's.
    _ilike = 'COLLATE "C" ILIKE'

    def __init__(
        self, url: str, *, pool_size: int = 10, warm: int = 1, timeout: float = 5.0
    ) -> None:
        """``pool_size`` connections at most per process (size it for gunicorn threads plus
        dispatcher threads); ``warm`` of them opened at start and kept open while idle (the
        others are opened when needed and closed after 10 idle minutes); ``timeout``: seconds
        to wait for a connection before the request is answered 503."""
        if not is_postgres_url(url):
            raise ConfigError("DATABASE_URL: not a postgres:// or postgresql:// URL")
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            # libpq's message can quote the URL: never echo it (it holds the password).
            raise ConfigError("DATABASE_URL: not a valid PostgreSQL connection URL") from exc
        # One direct connection first: a wrong host, password or sslmode fails here, once and
        # with libpq's own reason, instead of as pool warnings and timeouts.
        try:
            psycopg.connect(url, connect_timeout=max(1, round(timeout))).close()
        except psycopg.Error as exc:
            raise StoreUnavailableError(
                f"PostgreSQL store: cannot connect: {_first_line(exc)}"
            ) from exc
        try:
            self._pool = PooledConnections(
                url, min_size=max(1, warm), max_size=max(1, pool_size), timeout=timeout
            )
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL store: {_first_line(exc)}") from exc
        try:
            self.migrate()
        except BaseException:
            self._pool.close()
            raise

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[_Cursor]:
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield _Cursor(cur)
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL store: {_first_line(exc)}") from exc

    def _statement(self, sql: str, params: Sequence[Any] | dict[str, Any]) -> list[Row]:
        """One statement (``%s`` placeholders), its own transaction: one round trip."""
        try:
            with self._pool.connection() as conn:
                cur = conn.execute(sql, params)
                rows: list[Row] = list(cur.fetchall()) if cur.description is not None else []
                return rows
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL store: {_first_line(exc)}") from exc

    def migrate(self) -> int:
        """Apply missing migrations; safe when several processes start at once. Returns the
        schema version."""
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                " applied_at DOUBLE PRECISION NOT NULL)"
            )
            cur.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
            row = cur.fetchone()
            current = int(row["version"]) if row else 0
            for version, statements in enumerate(POSTGRES_MIGRATIONS[current:], current + 1):
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations VALUES (?, EXTRACT(EPOCH FROM now()))",
                    (version,),
                )
        return len(POSTGRES_MIGRATIONS)

    def size_bytes(self) -> int:
        with self._tx(write=False) as cur:
            row = cur.execute("SELECT pg_database_size(current_database()) AS size").fetchone()
        return int(row["size"]) if row else 0

    def close(self) -> None:
        self._pool.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
