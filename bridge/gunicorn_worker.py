"""gunicorn's threaded worker, with every request read whole before a thread takes it.

gunicorn's ``gthread`` worker hands a connection to a thread as soon as its first bytes
arrive; the thread then reads the rest of the request with blocking reads and no deadline. A
client that sends a header line every few seconds, or a body one byte at a time, holds that
thread for as long as it likes: 8 such connections (2 workers x 4 threads) stop every webhook,
``/healthz`` and admin page. Heroku's and Render's routers pass such connections through.

This worker reads requests in gunicorn's event loop instead, with non-blocking reads into a
:class:`bridge.http_buffer.RequestBuffer`, and submits a connection to the thread pool only
once its request is whole. The threads (and with them the store, the dispatcher and
everything the outbox guarantees) are unchanged: they see the same bytes, parsed by the same
gunicorn parser. A slow connection costs a socket and a buffer, and is cut when:

* its request is not whole ``BRIDGE_READ_TIMEOUT`` (default 10 s) after its first byte was
  awaited (408 and the connection closed; closed without an answer when not a byte came);
* its header section is over 64 KiB (431), or its chunked body runs past twice
  ``BRIDGE_MAX_BODY`` without a chunk that ends within the limit (413);
* the buffers of every connection being read in this worker would pass
  :data:`BUFFER_BUDGET` (503 for the connection that would pass it).

Memory per worker is therefore at most ``BUFFER_BUDGET`` plus ``worker_connections`` sockets.
The figures with 500 slow connections are in bench/RESULTS.md ("Slow clients").
https://docs.gunicorn.org/en/stable/design.html
"""

from __future__ import annotations

import contextlib
import errno
import json
import selectors
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn.http import RequestParser
from gunicorn.workers.gthread import TConn, ThreadWorker

from bridge.config import Settings
from bridge.http_buffer import RequestBuffer, State

BUFFER_BUDGET = 64 * 1024 * 1024  # bytes of unfinished requests held at once, per worker
STOP_LINGER = 2.0  # a stopping worker still waits this long for a request being received
_RECV = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _refusal(status: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


REQUEST_TIMEOUT = _refusal("408 Request Timeout", "request not received in time")
HEADERS_TOO_LARGE = _refusal("431 Request Header Fields Too Large", "request headers too large")
BUSY = _refusal("503 Service Unavailable", "too many requests being received")


@dataclass
class _Reading:
    buffer: RequestBuffer
    deadline: float
    continued: bool = False  # "100 Continue" sent


class BufferingThreadWorker(ThreadWorker):
    """``worker_class = "bridge.gunicorn_worker.BufferingThreadWorker"`` (bridge.gunicorn_conf)."""

    def init_process(self) -> None:
        settings = Settings.from_env()
        self.read_timeout = settings.read_timeout
        self.max_body = settings.max_body_bytes
        self.body_too_large = _refusal(
            "413 Content Too Large", f"request body is larger than the {self.max_body}-byte limit"
        )
        # Connections whose request is being read, oldest deadline first (every deadline is
        # now + read_timeout when added, so insertion order is deadline order).
        self.reading: dict[TConn, _Reading] = {}
        self.buffered = 0
        self.ready: set[TConn] = set()  # read whole: the next enqueue_req submits it
        super().init_process()

    def enqueue_req(self, conn: TConn) -> None:
        """Every way into the thread pool (a new connection, a kept-alive one that became
        readable, bytes read ahead after a response) comes here: read the request first."""
        if conn in self.ready:
            self.ready.discard(conn)
            super().enqueue_req(conn)
            return
        parser = conn.parser
        prefix = parser.unreader.take_buffered() if isinstance(parser, RequestParser) else b""
        conn.sock.setblocking(False)
        self.reading[conn] = _Reading(
            RequestBuffer(self.max_body, prefix), time.monotonic() + self.read_timeout
        )
        self.buffered += len(prefix)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
        if prefix:
            self._advance(conn, self.reading[conn].buffer.state())

    def _on_readable(self, conn: TConn, _fileobj: Any) -> None:
        reading = self.reading.get(conn)
        if reading is None:
            return
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)  # the client went away before finishing its request
            return
        if self.buffered + len(data) > BUFFER_BUDGET:
            self._close(conn, BUSY)
            return
        self.buffered += len(data)
        self._advance(conn, reading.buffer.feed(data))

    def _advance(self, conn: TConn, state: State) -> None:
        reading = self.reading[conn]
        if state is State.TOO_LARGE:
            self._close(conn, HEADERS_TOO_LARGE)
        elif state is State.BODY_TOO_LARGE:
            self._close(conn, self.body_too_large)
        elif state is State.COMPLETE:
            self._stop_reading(conn)
            conn.data_ready = True
            conn.bridge_prebuffered = bytes(reading.buffer.data)  # type: ignore[attr-defined]
            conn.bridge_close_after = reading.buffer.oversize  # type: ignore[attr-defined]
            self.ready.add(conn)
            self.enqueue_req(conn)
        elif reading.buffer.expects_continue and not reading.continued:
            # RFC 9110 §10.1.1: the client may wait for this before sending its body.
            reading.continued = True
            self._send(conn, _CONTINUE)

    def _stop_reading(self, conn: TConn) -> _Reading:
        reading = self.reading.pop(conn)
        self.buffered -= len(reading.buffer.data)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        return reading

    def _close(self, conn: TConn, answer: bytes = b"") -> None:
        if conn in self.reading:
            self._stop_reading(conn)
        if answer:
            self._send(conn, answer)
        self.nr_conns -= 1
        conn.close()

    @staticmethod
    def _send(conn: TConn, data: bytes) -> None:
        """Best effort, never blocking: a client that does not read its answer loses it."""
        with contextlib.suppress(OSError):
            conn.sock.send(data)

    def murder_pending(self) -> None:
        """Called by gunicorn's loop about once a second: also cut the slow requests."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive:  # stopping: idle connections go now, partial requests get 2 s
            for conn, reading in list(self.reading.items()):
                if not reading.buffer.data:
                    self._close(conn)
                else:
                    reading.deadline = min(reading.deadline, now + STOP_LINGER)
        for conn, reading in list(self.reading.items()):
            if reading.deadline > now:
                if self.alive:
                    break  # the rest were added later: later deadlines
                continue
            # A connection that sent nothing (a browser's preconnect) is closed silently, as an
            # idle kept-alive one is: a 408 there could be read as the answer to a request the
            # client writes at that moment.
            self._close(conn, REQUEST_TIMEOUT if reading.buffer.data else b"")

    def handle(self, conn: TConn) -> Any:
        """In a thread: give gunicorn's parser the bytes read in the loop, then serve."""
        data: bytes = getattr(conn, "bridge_prebuffered", b"")
        if data:
            conn.bridge_prebuffered = b""  # type: ignore[attr-defined]
            try:
                conn.sock.setblocking(True)
                conn.init()
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                    self.log.exception("Socket error before a request")
                return False
            if isinstance(conn.parser, RequestParser):  # bridge serves HTTP/1.1 alone
                conn.parser.unreader.unread(data)
        return super().handle(conn)

    def _keepalive_after(self, conn: TConn, keepalive: bool) -> bool:
        """A request handed over before its end (over BRIDGE_MAX_BODY) closes its connection:
        the rest of its body is never read, by a thread or otherwise."""
        if getattr(conn, "bridge_close_after", False):
            return False
        return bool(super()._keepalive_after(conn, keepalive))  # type: ignore[misc]
