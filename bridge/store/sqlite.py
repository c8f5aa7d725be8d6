"""The embedded SQLite store (the default): one file, WAL mode, safe across the threads and
gunicorn worker processes of one machine. https://www.sqlite.org/wal.html"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError, StoreUnavailableError
from bridge.events import Event
from bridge.store.migrations import SQLITE_MIGRATIONS
from bridge.store.records import Recorded
from bridge.store.sql import SQLStore

_BUSY_SLEEPS = (0.0001, 0.0002, 0.0005, 0.001)  # seconds between tries for the write lock


@dataclass(slots=True)
class _Pending:
    """One ``record_event`` call waiting for a group commit."""

    event: Event
    body: bytes
    routes: Sequence[str]
    now: float
    result: Recorded | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        return self.result is not None or self.error is not None


def sqlite_path(url: str) -> str:
    """``sqlite:///rel.db`` → ``rel.db``; ``sqlite:////abs/path.db`` → ``/abs/path.db``."""
    path = url.removeprefix("sqlite:").removeprefix("//").removeprefix("/")
    if not path or path == ":memory:":
        raise ConfigError("DATABASE_URL: give SQLite a file path, e.g. sqlite:///bridge.db")
    return path


class SQLiteStore(SQLStore):
    def __init__(self, path: str, *, busy_timeout: float = 10.0, create: bool = True) -> None:
        """Open (``create``: or create, with its folder) the database file at ``path``.
        Raises ConfigError when it cannot be created, or does not exist and ``create`` is
        off (a command that only reads must not leave an empty database behind)."""
        if not create and not Path(path).is_file():
            raise ConfigError(
                f"no database at {path}: it is created when `bridge serve`, `bridge worker` or "
                "`bridge db upgrade` first runs with this DATABASE_URL (check DATABASE_URL and "
                "the folder you run from)"
            )
        self.path = path
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._write_conn: sqlite3.Connection | None = None
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer per process at a time
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []  # events waiting for the next group commit
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"DATABASE_URL: cannot create the folder for {path}: {exc}") from exc
        self.migrate()

    # -- connections and transactions -------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, for reads (WAL: readers never wait for the writer)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _writer(self) -> sqlite3.Connection:
        """The process's one connection for writes, used only under ``_write_lock``. One
        connection keeps its page cache across the writes of every thread: SQLite drops a
        connection's cache whenever another connection has written since its last
        transaction, and a connection per thread meant reading the tables' pages again on
        almost every write (https://www.sqlite.org/wal.html). Its busy timeout is 0: the
        only statement that waits is ``BEGIN IMMEDIATE``, which :meth:`_begin_immediate`
        retries in short steps."""
        conn = self._write_conn
        if conn is None:
            conn = self._write_conn = self._open()
            conn.execute("PRAGMA busy_timeout = 0")
        return conn

    def _open(self) -> sqlite3.Connection:
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
        # Savepoints' journals and other transient data in memory: with the default (a file),
        # SQLite created and deleted a file in the temporary folder every few group commits.
        # https://www.sqlite.org/pragma.html#pragma_temp_store
        conn.execute("PRAGMA temp_store=MEMORY")
        with self._lock:
            self._connections.append(conn)
        return conn

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Cursor]:
        """A transaction; writers of this process take turns (``_write_lock``) on one
        connection."""
        with self._write_lock if write else nullcontext(), self._transaction(write) as cur:
            yield cur

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        """``BEGIN IMMEDIATE`` takes the write lock up front so two writers never deadlock
        upgrading a read lock. Database errors become StoreUnavailableError."""
        try:
            conn = self._writer() if write else self._connection()
            cur = conn.cursor()
            if write:
                self._begin_immediate(conn)
            else:
                cur.execute("BEGIN")
            try:
                yield cur
                conn.commit()
            except BaseException:
                # A COMMIT that failed (disk full, a deferred constraint) leaves the transaction
                # open; the writer's connection is every thread's, so it must not stay open.
                if conn.in_transaction:
                    conn.rollback()
                raise
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite store {self.path}: {exc}") from exc

    # -- intake: group commit ------------------------------------------------------------------

    def record_event(
        self, event: Event, body: bytes, routes: Sequence[str], *, now: float
    ) -> Recorded:
        """Store the event, committed (fsync'd) before returning, like every backend. Events
        arriving while another write commits are queued and the next writer commits them all
        in one transaction: one fsync for the batch instead of one each (group commit), each
        event in its own savepoint so one failing insert fails only its own request."""
        mine = _Pending(event, body, routes, now)
        with self._queue_lock:
            self._queue.append(mine)
        with self._write_lock:
            if not mine.finished:  # no other writer took it along: commit the queue
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        if mine.result is None:
            raise mine.error or StoreUnavailableError("the event was not stored")
        return mine.result

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self._transaction(write=True) as cur:
                for item in batch:
                    cur.execute("SAVEPOINT intake")
                    try:
                        item.result = self._insert_event(
                            cur, item.event, item.body, item.routes, item.now
                        )
                    except sqlite3.OperationalError:
                        raise  # the transaction itself is in trouble: fails the whole batch
                    except Exception as exc:  # reported to its own request only
                        cur.execute("ROLLBACK TO intake")
                        item.error = exc
                    cur.execute("RELEASE intake")
        except BaseException as exc:
            for item in batch:
                item.result, item.error = None, exc
            return

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        """Wait for the write lock held by another process in short steps. SQLite's own busy
        handler sleeps 1, 2, 5, 10 … 100 ms between tries, which under load turns a lock held
        for a millisecond into a 100 ms answer. (Threads of this process queue on
        ``_write_lock`` instead.)"""
        deadline = time.monotonic() + self._busy_timeout
        for attempt in itertools.count():
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(_BUSY_SLEEPS[min(attempt, len(_BUSY_SLEEPS) - 1)])

    def migrate(self) -> int:
        with self._tx() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
            )
            current = cur.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
            for version, statements in enumerate(SQLITE_MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations VALUES (?, strftime('%s', 'now'))", (version,)
                )
        return len(SQLITE_MIGRATIONS)

    def size_bytes(self) -> int:
        with self._tx(write=False) as cur:
            pages = cur.execute("PRAGMA page_count").fetchone()[0]
            size = cur.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(size)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
            self._write_conn = None
        self._local = threading.local()
