"""The PostgreSQL connection pool of one process, and how it finds out a dead connection
without a round trip on every checkout.

psycopg_pool's ``ConnectionPool.check_connection`` sends an empty query on every checkout:
a network round trip before each transaction. A connection the server closed (a restart, a
failover, ``pg_terminate_backend``) has already received the server's last message
(``FATAL: terminating connection``) and the end of the stream by the time it is checked out,
while a healthy idle connection has nothing to read (bridge never LISTENs): so a checkout
polls the socket instead (a system call, no round trip) and discards a connection with
something to read. A connection idle longer than :data:`PING_AFTER` is still pinged, for the
connections a network device drops without a word (an idle timeout in a proxy or NAT).
https://www.psycopg.org/psycopg3/docs/advanced/pool.html#connection-quality
"""

from __future__ import annotations

import select
import threading
import time
import weakref
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

PING_AFTER = 30.0  # seconds a connection may sit idle before a checkout pings it
Connection = psycopg.Connection[dict[str, Any]]


class Liveness:
    """The pool's ``check``: raises for a connection the server has closed, without a round
    trip unless the connection sat idle longer than :data:`PING_AFTER`."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._returned: weakref.WeakKeyDictionary[Connection, float] = weakref.WeakKeyDictionary()

    def idle_from_now(self, conn: Connection) -> None:
        """``conn`` was just opened or returned to the pool: its idle time starts (the pool's
        ``configure`` and ``reset`` callbacks)."""
        with self._lock:
            self._returned[conn] = self._clock()

    def __call__(self, conn: Connection) -> None:
        """Raise psycopg.OperationalError when ``conn`` is closed; the pool then discards it
        and hands out another."""
        if _has_input(conn):
            # An idle connection receives nothing unless the server is closing it.
            conn.close()
            raise psycopg.OperationalError("the server closed the connection")
        with self._lock:
            since = self._returned.get(conn)
        if since is None or self._clock() - since > PING_AFTER:
            ConnectionPool.check_connection(conn)


def _has_input(conn: Connection) -> bool:
    """Something (or the end of the stream) is waiting to be read on ``conn``'s socket."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def open_pool(
    url: str, *, min_size: int, max_size: int, timeout: float
) -> ConnectionPool[Connection]:
    """A started pool of autocommit connections (a statement outside ``conn.transaction()``
    is a transaction of its own), ``min_size`` of them opened at once and kept open."""
    liveness = Liveness()
    return ConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        timeout=timeout,
        kwargs={
            "row_factory": dict_row,
            "connect_timeout": max(1, round(timeout)),
            "autocommit": True,
        },
        # A connection that died with the server (restart, failover) is found out and
        # replaced before it is handed out, not by the request that uses it.
        check=liveness,
        configure=liveness.idle_from_now,
        reset=liveness.idle_from_now,
        name="bridge",
        open=True,
    )
