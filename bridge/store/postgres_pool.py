"""The PostgreSQL connection pool of one process, and how it finds out a dead connection
without a round trip on every checkout.

psycopg_pool's ``ConnectionPool.check_connection`` sends an empty query on every checkout:
a network round trip before each transaction. A connection the server closed (a restart, a
failover, ``pg_terminate_backend``) has already received the server's last message
(``FATAL: terminating connection``) and the end of the stream by the time it is checked out,
while a healthy idle connection has nothing to read (bridge never LISTENs): so
:func:`live_connection` polls the socket instead (a system call, no round trip) and closes a
connection with something to read, then takes the next one. A connection idle longer than
:data:`PING_AFTER` is still pinged by the pool's check, for the connections a network device
drops without a word (an idle timeout in a proxy or NAT).
https://www.psycopg.org/psycopg3/docs/advanced/pool.html#connection-quality
"""

from __future__ import annotations

import logging
import select
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)
PING_AFTER = 30.0  # seconds a connection may sit idle before a checkout pings it
Connection = psycopg.Connection[dict[str, Any]]


class IdlePing:
    """The pool's ``check``: pings (one round trip) only a connection that sat idle longer
    than :data:`PING_AFTER`; raises psycopg.Error when it does not answer (the pool then
    discards it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._since: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    def idle_from_now(self, conn: Connection) -> None:
        """``conn`` was just opened, or used: its idle time starts."""
        with self._lock:
            self._since[conn] = self._clock()

    def __call__(self, conn: Connection) -> None:
        with self._lock:
            since = self._since.get(conn)
        if since is None or self._clock() - since > PING_AFTER:
            ConnectionPool.check_connection(conn)


class PooledConnections:
    """The process's pool of autocommit connections (a statement outside
    ``conn.transaction()`` is a transaction of its own), ``min_size`` of them opened at once
    (waiting up to ``timeout`` seconds for them; fewer when the server takes fewer) and kept
    open."""

    def __init__(self, url: str, *, min_size: int, max_size: int, timeout: float) -> None:
        self._ping = IdlePing()
        self.max_size = max_size
        # No ``reset`` callback: with one, psycopg_pool returns every connection through a
        # background task, and a thread asking again at once finds none and grows the pool.
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            url,
            min_size=min(min_size, max_size),
            max_size=max_size,
            timeout=timeout,
            kwargs={
                "row_factory": dict_row,
                "connect_timeout": max(1, round(timeout)),
                "autocommit": True,
            },
            check=self._ping,
            configure=self._ping.idle_from_now,
            name="bridge",
            open=True,
        )
        # Open them before the first use: a use that found none ready would open one more.
        # (ConnectionPool.wait would close the pool when the server takes fewer.)
        deadline = time.monotonic() + timeout
        while self._pool.get_stats().get("pool_available", 0) < self._pool.min_size:
            if time.monotonic() > deadline:
                # The server refuses more (max_connections, a role's connection limit): work
                # with those it took; the pool keeps trying in the background.
                log.warning(
                    "PostgreSQL: %d connections to keep open were asked for, the server took"
                    " fewer within %.0f s (its connection limit?)", self._pool.min_size, timeout,
                )  # fmt: skip
                break
            time.sleep(0.005)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A pooled connection the server has not closed, returned to the pool afterwards.
        Every pooled connection can have died at once (a server restart): each dead one is
        closed (the pool opens a replacement) and the next one taken, without the pool's
        backoff between failed checks. Raises psycopg.Error, psycopg_pool.PoolTimeout."""
        # max_size checked checkouts, then one more unchecked: the replacements the pool
        # opened meanwhile.
        for checks_left in range(self.max_size, -1, -1):
            with self._pool.connection() as conn:
                if checks_left and _has_input(conn):
                    conn.close()  # an idle connection receives nothing unless the server closed it
                    continue
                try:
                    yield conn
                finally:
                    self._ping.idle_from_now(conn)
                return

    def close(self) -> None:
        self._pool.close()


def _has_input(conn: Connection) -> bool:
    """Something (or the end of the stream) is waiting to be read on ``conn``'s socket."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))
