"""The base of every HTTP fake: a real werkzeug server on 127.0.0.1 in a thread that records
each request, answers queued replies first (a status, headers, a body, a delay), and leaves
the rest to the fake itself.

A fake subclasses :class:`FakeHTTPServer` and implements :meth:`FakeHTTPServer._serve` (the
normal answer) and :meth:`FakeHTTPServer._reply_response` (the answer to a queued reply).
Requests run on their own threads, so a slow reply does not hold up others; :meth:`stop`
wakes delayed replies, shuts the server down and closes its socket.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import jwt
from werkzeug import Request, Response
from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as received, any prefix included
    args: Mapping[str, str]  # query parameters, decoded (first value of each)
    query_string: str  # as received
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    json: Any  # parsed body, None when empty or not JSON
    at: float  # time.monotonic() on arrival
    seq: int  # 1 for the first request the fake received, then 2, 3… (clear() keeps counting)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def credential(self) -> tuple[str, str]:
        """``("token", "ghp_…")`` or ``("Bearer", "<jwt>")`` from Authorization; ``("", "")``
        without one."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        return (scheme, value) if value else ("", "")

    @property
    def token(self) -> str | None:
        """The bearer token, or None without ``Authorization: Bearer …``."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        return value if scheme == "Bearer" and value else None

    @property
    def claims(self) -> dict[str, Any] | None:
        """The bearer token's claims, NOT verified (None without a decodable token)."""
        if self.token is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(self.token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        return claims


@dataclass(frozen=True)
class Reply:
    """A queued answer. ``status=None`` means "answer normally" (after ``delay`` seconds)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list → JSON; str/bytes as is; None → the fake's error for ≥ 400
    delay: float = 0.0
    match: str | None = None  # regex searched in the path; None: any request
    method: str | None = None  # None: any method


def json_response(
    status: int, body: Any = None, headers: Mapping[str, str] | None = None
) -> Response:
    """``body`` as JSON when it is a dict or a list, else as is (None: empty)."""
    if isinstance(body, dict | list):
        response = Response(json.dumps(body), status, content_type="application/json")
    else:
        response = Response(body or b"", status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class FakeHTTPServer:
    """Start with :meth:`start` or ``with``; :attr:`base_url` is ``http://127.0.0.1:<port>``."""

    def __init__(self, *, port: int = 0) -> None:
        self._requests: list[RecordedRequest] = []
        self._queue: list[Reply] = []
        self._arrivals = 0
        self._handler_errors: list[Exception] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        """Listen (again, after :meth:`stop`: on the same port) and serve in a thread."""
        assert self._server is None, "already started"
        self._stopping.clear()
        self._server = make_server("127.0.0.1", self._port, self._wsgi, threaded=True)
        self._port = self._server.port
        # poll_interval: stop() waits for one poll, keep it short
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake delayed replies, stop serving, close the socket. Recordings stay."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            if self._thread is not None:
                self._thread.join()
            self._server.server_close()
        self._server = None
        self._thread = None

    def check(self) -> None:
        """Re-raise the first exception a handler raised (a bug in the fake or the test)."""
        with self._lock:
            if self._handler_errors:
                raise self._handler_errors.pop(0)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port listened on (0 before the first start with ``port=0``)."""
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # programming -----------------------------------------------------------------------------

    def _enqueue(self, reply: Reply, times: int) -> None:
        with self._lock:
            self._queue.extend([reply] * times)

    def clear(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self._requests.clear()
            self._queue.clear()

    # inspection ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def _select(self, keep: Callable[[RecordedRequest], bool]) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if keep(r)]

    def _wait(
        self, keep: Callable[[RecordedRequest], bool], count: int, timeout: float, what: str
    ) -> list[RecordedRequest]:
        """Block until at least ``count`` recorded requests are kept by ``keep``; raise
        AssertionError (``expected <count> <what>, got …``) on timeout."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := [r for r in self._requests if keep(r)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {what}, got {len(found)}")
                self._arrived.wait(left)
            return found

    # serving ---------------------------------------------------------------------------------

    def _serve(self, record: RecordedRequest) -> Response:
        """The normal answer (no queued reply, or one with ``status=None``)."""
        raise NotImplementedError

    def _reply_response(self, reply: Reply) -> Response:
        """The answer to a queued reply with a status."""
        raise NotImplementedError

    def _reply_path(self, record: RecordedRequest) -> str | None:
        """The path a queued reply's ``match`` is searched in (None: only ``match=None``)."""
        return record.path

    def _unqueued_reply(self, record: RecordedRequest) -> Reply | None:
        """A reply for a request no queued reply matched (None: answer normally)."""
        return None

    def _finish(self, record: RecordedRequest, reply: Reply | None, response: Response) -> Response:
        """Last touches on every answer (headers the fake always sends)."""
        return response

    def _handle(self, request: Request) -> Response:
        body = request.get_data()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self._arrived:
            self._arrivals += 1
            record = RecordedRequest(
                method=request.method,
                path=request.path,
                args=request.args.to_dict(),
                query_string=request.query_string.decode("latin-1"),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                json=parsed,
                at=time.monotonic(),
                seq=self._arrivals,
            )
            self._requests.append(record)
            self._arrived.notify_all()
            reply = self._pop_reply(record)
        if reply is None:
            reply = self._unqueued_reply(record)
        if reply is not None and reply.delay:
            self._stopping.wait(reply.delay)
        if reply is not None and reply.status is not None:
            response = self._reply_response(reply)
        else:
            response = self._serve(record)
        return self._finish(record, reply, response)

    def _pop_reply(self, record: RecordedRequest) -> Reply | None:
        """The first queued reply for ``record``, removed from the queue (caller holds the
        lock)."""
        path = self._reply_path(record)
        for i, reply in enumerate(self._queue):
            if (reply.match is None or (path is not None and re.search(reply.match, path))) and (
                reply.method is None or reply.method == record.method
            ):
                return self._queue.pop(i)
        return None

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except Exception as exc:  # kept for check(): the test fails, not only this request
            with self._lock:
                self._handler_errors.append(exc)
            response = Response(f"the fake failed: {exc!r}", 500)
        return response(environ, start_response)
