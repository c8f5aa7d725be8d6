"""Slow clients against a real `bridge serve` (gunicorn, bridge.gunicorn_worker): connections
that trickle their headers or their body hold no thread, are cut after BRIDGE_READ_TIMEOUT,
and webhooks and /healthz are answered meanwhile. A small number of connections here, many
more than the threads; 500 of them, with the latencies, in bench/ ("Slow clients")."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.samples import PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port

pytestmark = pytest.mark.server
THREADS = 2  # one worker with two threads: 3 slow connections would stop a plain gthread
SLOW = 12  # slow connections held open at once, 6 x the threads


@pytest.fixture
def server(environ: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update(
        {
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": str(THREADS),
            "BRIDGE_READ_TIMEOUT": "3s",
            "BRIDGE_MAX_BODY": "4KiB",
        }
    )
    s = Server(env, tmp_path / "server.log").start()
    yield s
    s.stop()


def build_event(event_id: str) -> bytes:
    body = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    body["data"]["id"] = event_id
    return json.dumps(body).encode()


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    return sock


class Tricklers:
    """Connections that send the start of a request, then one byte every ``interval`` s,
    never finishing: half in the header section, half in a declared body."""

    def __init__(self, server: Server, count: int, interval: float = 0.2) -> None:
        self.socks: list[socket.socket] = []
        for i in range(count):
            sock = connect(server)
            if i % 2:
                head = b"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"
            else:
                head = b"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\n"
            sock.sendall(head)
            self.socks.append(sock)
        self.interval = interval
        self.stop = threading.Event()
        self.cut: list[bytes] = []  # what each connection had received when it was closed
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for sock in list(self.socks):
                try:
                    sock.sendall(b"X")
                except OSError:
                    self.socks.remove(sock)
                    self.cut.append(_drain(sock))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        for sock in self.socks:
            sock.close()


def _drain(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError:
        pass
    sock.close()
    return data


@pytest.fixture
def tricklers(server: Server) -> Iterator[Tricklers]:
    t = Tricklers(server, SLOW)
    yield t
    t.close()


def test_webhooks_and_healthz_answer_while_slow_connections_hold_more_than_every_thread(
    server: Server, tricklers: Tricklers
) -> None:
    for i in range(5):
        body = build_event(f"slow-clients-{i}")
        status, answer = server.post("/webhooks/ios", body, signed(body))
        assert (status, answer["status"]) == (202, "accepted")
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as r:
            assert r.status == 200
    assert len(tricklers.socks) == SLOW  # all still open: they were not simply cut first


def test_a_request_still_trickling_after_the_read_timeout_is_cut_with_408(
    server: Server, tricklers: Tricklers
) -> None:
    tricklers.thread.join(20)  # ends when the server has cut every connection
    assert not tricklers.socks
    assert len(tricklers.cut) == SLOW
    for received in tricklers.cut:
        assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), received
        assert received.endswith(b'{"error": "request not received in time"}')


def test_a_request_sent_in_pieces_in_time_is_served(server: Server) -> None:
    body = build_event("in-pieces")
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed(body).items())
    wire = (
        f"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body
    with connect(server) as sock:
        for i in range(0, len(wire), 97):
            sock.sendall(wire[i : i + 97])
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 202 "), answer


def test_chunked_and_pipelined_requests_on_one_connection(server: Server) -> None:
    """Transfer-Encoding: chunked (Pgyer's token in the query), then a second request sent
    in the same write: both answered, in order, on the kept-alive connection."""
    body = sample("pgyer/update-version.json")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    first = (
        f"POST /webhooks/beta?token={PGYER_TOKEN} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + chunks
    second = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(first[:30])
        sock.sendall(first[30:] + second)
        answers = _drain_open(sock)
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", answers) == [b"202", b"200"], answers


def _drain_open(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_header_section_over_64_kib_is_refused_with_431(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(70):
                sock.sendall(b"X-Filler: " + b"a" * 1014 + b"\r\n")
        except OSError:
            pass  # the server closed the connection while the client was still sending
        answer = _drain(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer


def test_a_chunked_body_over_the_limit_is_refused_and_the_connection_closed(
    server: Server,
) -> None:
    body = build_event("oversize")
    big = body + b" " * 5000  # over BRIDGE_MAX_BODY (4 KiB)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i : i + 1000]), big[i : i + 1000])
                      for i in range(0, len(big), 1000))  # fmt: skip
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed(big).items())
    wire = (
        f"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{headers}\r\n"
    ).encode() + chunks  # the last chunk never comes: the server must not wait for it
    with connect(server) as sock:
        sock.sendall(wire)
        answer = _drain_open(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer


def test_a_chunked_body_whose_first_limit_bytes_are_signed_is_refused_not_stored(
    server: Server,
) -> None:
    """Without Content-Length the body used to be cut at BRIDGE_MAX_BODY and the prefix
    verified: a signed prefix then stored an event the sender never sent whole."""
    prefix = build_event("signed-prefix")
    prefix += b" " * (4096 - len(prefix))  # exactly BRIDGE_MAX_BODY: valid JSON, signed
    body = prefix + b"trailing bytes past the limit"
    chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    headers = "".join(f"{k}: {v}\r\n" for k, v in signed(prefix).items())
    wire = (
        f"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{headers}\r\n"
    ).encode() + chunks
    with connect(server) as sock:
        sock.sendall(wire)
        answer = _drain_open(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert b'"error": "request body is larger than the 4096-byte limit"' in answer.replace(
        b'":"', b'": "'
    )
    status, _ = server.post("/webhooks/ios", prefix, signed(prefix))
    assert status == 202  # the prefix alone, sent as itself, was never stored


def test_one_huge_chunk_is_refused_by_the_loop_without_waiting_for_its_end(
    server: Server,
) -> None:
    """A single chunk announced larger than the limit and sent only in part: the worker
    answers 413 itself once twice the limit has arrived, no thread waits for the rest."""
    head = b"POST /webhooks/ios HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with connect(server) as sock:
        sock.sendall(head + b"%x\r\n" % (10 * 1024 * 1024))
        try:
            for _ in range(80):  # 80 KiB arrive; the chunk announces 10 MiB
                sock.sendall(b"a" * 1024)
        except OSError:
            pass  # closed by the server while the client was still sending
        answer = _drain(sock)
    assert answer.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), answer
    assert answer.endswith(b'{"error": "request body is larger than the 4096-byte limit"}')


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(server: Server) -> None:
    """A browser's preconnect: closed after the read timeout like an idle kept-alive one, with
    no 408 that the client could take for the answer to a request it writes meanwhile."""
    with connect(server) as sock:
        assert sock.recv(4096) == b""  # closed by the server (the socket timeout is 20 s)
