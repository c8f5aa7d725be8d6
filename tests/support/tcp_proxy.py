"""A TCP proxy on 127.0.0.1 that counts round trips: what a client pays in network waits.

A round trip is counted each time the server answers after the client spoke: however many
packets a query or its answer takes, a client waiting for an answer waits once. Used to
count what PostgreSQL costs bridge per event (tests/test_postgres_round_trips.py); the
protocol is not parsed, so pings, ``BEGIN`` and ``COMMIT`` count like any other query.
"""

from __future__ import annotations

import selectors
import socket
import threading
from types import TracebackType

from tests.support.servers import free_port


class CountingProxy:
    """``with CountingProxy(target_port) as proxy``: connect to ``proxy.port`` instead;
    ``proxy.round_trips`` counts every connection's round trips, ``proxy.connections`` the
    connections accepted."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.round_trips = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._peers: dict[socket.socket, tuple[socket.socket, list[str], str]] = {}
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._run, name="counting-proxy", daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        self._thread.join(10)
        for sock in [*self._peers, self._listener, self._wake_r, self._wake_w]:
            sock.close()
        self._selector.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=1):
                if key.data == "wake":
                    return
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                elif sock in self._peers:  # not closed with its peer earlier in this round
                    self._pump(sock)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target_port))
        last: list[str] = [""]  # who spoke last on this connection, shared by both sides
        for sock in (client, server):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, None)
        self._peers[client] = (server, last, "client")
        self._peers[server] = (client, last, "server")
        self.connections += 1

    def _pump(self, sock: socket.socket) -> None:
        other, last, side = self._peers[sock]
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            for s in (sock, other):
                self._selector.unregister(s)
                self._peers.pop(s)
                s.close()
            return
        if side == "server" and last[0] == "client":
            self.round_trips += 1
        last[0] = side
        other.setblocking(True)
        other.sendall(data)
        other.setblocking(False)
