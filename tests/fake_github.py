"""A small fake GitHub REST API on 127.0.0.1 for tests: real HTTP, no mocks.

Serves what bridge calls and records every request::

    POST {prefix}/repos/{o}/{r}/dispatches                         -> 204
    POST {prefix}/repos/{o}/{r}/actions/workflows/{w}/dispatches   -> 200 + run details, or 204
    GET  {prefix}/repos/{o}/{r}/installation                       -> 200 {"id": …}  (App JWT)
    POST {prefix}/app/installations/{id}/access_tokens             -> 201 {"token": "ghs_…"}

Faults are queued with :meth:`FakeGitHub.enqueue` (status, headers, body, delay, path regex);
each queued reply answers one matching request, in order. Requests run on their own threads,
so a slow reply does not hold up others.

Use the ``fake_github`` fixture (``pytest_plugins = ["tests.fake_github"]`` in the root
conftest.py registers it) or ``with FakeGitHub(prefix="/api/v3") as fake: …``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import jwt
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

_REPO_DISPATCH = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/dispatches$")
_WORKFLOW_DISPATCH = re.compile(
    r"^/repos/(?P<repo>[^/]+/[^/]+)/actions/workflows/(?P<workflow>[^/]+)/dispatches$"
)
_INSTALLATION = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/installation$")
_ACCESS_TOKENS = re.compile(r"^/app/installations/(?P<id>\d+)/access_tokens$")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as received, prefix included
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    json: Any  # parsed body, None when empty or not JSON
    at: float  # time.monotonic() on arrival

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def credential(self) -> tuple[str, str] | None:
        """``("token", "ghp_…")`` or ``("Bearer", "<jwt>")`` from Authorization, or None."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        return (scheme, value) if value else None


@dataclass(frozen=True)
class Reply:
    """A queued answer. ``status=None`` means "answer normally" (after ``delay`` seconds)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list → JSON; str/bytes as is; None → GitHub-style error for ≥400
    delay: float = 0.0
    match: str | None = None  # regex searched in the path (prefix removed); None: any request


class _Server(HTTPServer):
    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)  # stop() waits one poll: keep it short


class FakeGitHub:
    """Configure with attributes before requests are made:

    - ``workflow_run_details``: answer workflow dispatches asking for them 200 + run details
      (default) or always 204 (older github.com behaviour).
    - ``rejects_run_details``: answer 422 to a body carrying ``return_run_details``, as
      GitHub Enterprise Server ≤ 3.20 does.
    - ``installations``: ``"owner/repo" → installation id`` (None: App not installed);
      other repositories get ``default_installation_id`` (None: 404).
    - ``app_public_key`` / ``app_id``: when set, App endpoints verify the RS256 JWT and answer
      401 like GitHub on a bad one.
    - ``token_ttl``: lifetime of issued installation tokens (default 1 h).
    - ``fault``: called for each dispatch without a queued reply; returns a :class:`Reply`
      (a random 502, a slow answer…) or None to answer normally.
    """

    def __init__(self, *, prefix: str = "", port: int = 0) -> None:
        self.prefix = prefix.rstrip("/")
        self.workflow_run_details = True
        self.rejects_run_details = False
        # Called for every dispatch with no queued reply: a Reply to answer with, or None.
        self.fault: Callable[[RecordedRequest], Reply | None] | None = None
        self.installations: dict[str, int | None] = {}
        self.default_installation_id: int | None = 4242
        self.app_id: str | None = None
        self.app_public_key: bytes | str | None = None
        self.token_ttl = timedelta(hours=1)
        self.issued_tokens: dict[str, int] = {}  # installation token → installation id
        self._requests: list[RecordedRequest] = []
        self._queue: list[Reply] = []
        self._next_run_id = 1000
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server = _Server(host="127.0.0.1", port=port, threaded=True)
        self._server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    # lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        self._server.stop()

    def check(self) -> None:
        """Re-raise the first exception a handler raised (a bug in the fake or the test)."""
        self._server.check_handler_errors()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as GITHUB_API_URL (with the prefix, no trailing slash)."""
        return f"http://127.0.0.1:{self._server.port}{self.prefix}"

    # programming -----------------------------------------------------------------------------

    def enqueue(
        self,
        status: int | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        match: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests whose path matches ``match`` with this reply."""
        reply = Reply(status, dict(headers or {}), body, delay, match)
        with self._lock:
            self._queue.extend([reply] * times)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._queue.clear()

    # inspection ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def dispatches(self) -> list[RecordedRequest]:
        return self._select(lambda p: p.endswith("/dispatches"))

    def token_exchanges(self) -> list[RecordedRequest]:
        return self._select(lambda p: _ACCESS_TOKENS.match(p) is not None)

    def installation_lookups(self) -> list[RecordedRequest]:
        return self._select(lambda p: _INSTALLATION.match(p) is not None)

    def wait_for_dispatches(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` dispatches arrived; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := self._select_locked(lambda p: p.endswith("/dispatches"))) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} dispatches, got {len(found)}")
                self._arrived.wait(left)
            return found

    def _select(self, pred: Callable[[str], bool]) -> list[RecordedRequest]:
        with self._lock:
            return self._select_locked(pred)

    def _select_locked(self, pred: Callable[[str], bool]) -> list[RecordedRequest]:
        return [r for r in self._requests if pred(self._relative(r.path) or "")]

    def _relative(self, path: str) -> str | None:
        if not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix) :]

    # serving ---------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        body = request.get_data()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
            at=time.monotonic(),
        )
        path = self._relative(request.path)
        with self._arrived:
            self._requests.append(record)
            self._arrived.notify_all()
            reply = self._pop_reply(path)
        if reply is None and self.fault is not None and path and path.endswith("/dispatches"):
            reply = self.fault(record)
        if reply is not None and reply.delay:
            self._stopping.wait(reply.delay)
        if reply is not None and reply.status is not None:
            return _response(reply.status, reply.body, reply.headers)
        if path is None:
            return _response(404)
        return self._route(record, path)

    def _pop_reply(self, path: str | None) -> Reply | None:
        for i, reply in enumerate(self._queue):
            if reply.match is None or (path is not None and re.search(reply.match, path)):
                return self._queue.pop(i)
        return None

    def _route(self, record: RecordedRequest, path: str) -> Response:
        credential = record.credential
        if credential is None:
            return _response(401, {"message": "Requires authentication"})
        if record.method == "POST" and (m := _REPO_DISPATCH.match(path)):
            if self._bad_installation_token(credential):
                return _response(401, {"message": "Bad credentials"})
            if not isinstance(record.json, dict) or not record.json.get("event_type"):
                return _response(422, {"message": "Invalid request.", "errors": ["event_type"]})
            return _response(204)
        if record.method == "POST" and (m := _WORKFLOW_DISPATCH.match(path)):
            if self._bad_installation_token(credential):
                return _response(401, {"message": "Bad credentials"})
            if not isinstance(record.json, dict) or not record.json.get("ref"):
                return _response(422, {"message": "Invalid request.", "errors": ["ref"]})
            if self.rejects_run_details and "return_run_details" in record.json:
                message = 'Invalid request.\n\n"return_run_details" is not a permitted key.'
                return _response(422, {"message": message})
            if not (self.workflow_run_details and record.json.get("return_run_details")):
                return _response(204)
            with self._lock:
                run_id = self._next_run_id
                self._next_run_id += 1
            repo = m["repo"]
            return _response(
                200,
                {
                    "workflow_run_id": run_id,
                    "run_url": f"{self.url}/repos/{repo}/actions/runs/{run_id}",
                    "html_url": f"https://github.com/{repo}/actions/runs/{run_id}",
                },
            )
        if (m := _INSTALLATION.match(path)) or (m := _ACCESS_TOKENS.match(path)):
            if (denied := self._check_jwt(credential)) is not None:
                return denied
            if record.method == "GET" and "repo" in m.groupdict():
                return self._installation(m["repo"])
            if record.method == "POST" and "id" in m.groupdict():
                return self._access_token(int(m["id"]))
        return _response(404)

    def _bad_installation_token(self, credential: tuple[str, str]) -> bool:
        scheme, value = credential
        with self._lock:
            return (
                scheme == "token" and value.startswith("ghs_") and value not in self.issued_tokens
            )

    def _check_jwt(self, credential: tuple[str, str]) -> Response | None:
        scheme, value = credential
        if scheme != "Bearer":
            return _response(
                401, {"message": "A JSON web token could not be decoded", "status": "401"}
            )
        if self.app_public_key is None:
            return None
        try:
            claims = jwt.decode(value, self.app_public_key, algorithms=["RS256"], leeway=60)
        except jwt.PyJWTError as exc:
            return _response(401, {"message": f"A JSON web token could not be decoded ({exc})"})
        if self.app_id is not None and str(claims.get("iss")) != self.app_id:
            return _response(401, {"message": "'Issuer' claim ('iss') must be an Integer"})
        return None

    def _installation(self, repo: str) -> Response:
        installation_id = self.installations.get(repo, self.default_installation_id)
        if installation_id is None:
            return _response(404, {"message": "Not Found"})
        owner = repo.partition("/")[0]
        tokens_url = f"{self.url}/app/installations/{installation_id}/access_tokens"
        app_id = int(self.app_id) if self.app_id and self.app_id.isdigit() else 1
        return _response(
            200,
            {
                "id": installation_id,
                "account": {"login": owner, "id": 1, "type": "Organization"},
                "app_id": app_id,
                "target_type": "Organization",
                "repository_selection": "selected",
                "access_tokens_url": tokens_url,
                "permissions": {"actions": "write", "contents": "write", "metadata": "read"},
                "events": [],
            },
        )

    def _access_token(self, installation_id: int) -> Response:
        with self._lock:
            token = f"ghs_test{installation_id}x{len(self.issued_tokens) + 1:06d}"
            self.issued_tokens[token] = installation_id
        expires = datetime.now(UTC) + self.token_ttl
        return _response(
            201,
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": {"actions": "write", "contents": "write", "metadata": "read"},
                "repository_selection": "selected",
            },
        )


def _response(status: int, body: Any = None, headers: Mapping[str, str] | None = None) -> Response:
    if body is None and status >= 400:
        body = {
            "message": HTTPStatus(status).phrase,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }
    if isinstance(body, dict | list):
        response = Response(json.dumps(body), status, content_type="application/json")
    else:
        response = Response(body or b"", status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(name="fake_github")
def fake_github_fixture() -> Iterator[FakeGitHub]:
    """A started :class:`FakeGitHub` (no prefix); fails the test if a handler crashed."""
    with FakeGitHub() as fake:
        yield fake
    fake.check()
