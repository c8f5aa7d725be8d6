"""A small fake GitHub REST API on 127.0.0.1 for tests: real HTTP, no mocks.

Serves what bridge calls and records every request::

    POST {prefix}/repos/{o}/{r}/dispatches                         -> 204
    POST {prefix}/repos/{o}/{r}/actions/workflows/{w}/dispatches   -> 200 + run details, or 204
    GET  {prefix}/repos/{o}/{r}/installation                       -> 200 {"id": …}  (App JWT)
    POST {prefix}/app/installations/{id}/access_tokens             -> 201 {"token": "ghs_…"}

With ``secondary_limits = (per_minute, per_hour)`` it enforces GitHub's secondary limits on
content creation per credential (a token, or an App installation) over sliding windows read
from ``clock``, and refuses a dispatch past them as GitHub does: 403, ``Retry-After`` and
"You have exceeded a secondary rate limit" (docs/protocols.md, "Secondary rate limits").
``refusals()`` lists the refused dispatches.

Faults are queued with :meth:`FakeGitHub.enqueue` (status, headers, body, delay, path regex);
each queued reply answers one matching request, in order. Requests run on their own threads,
so a slow reply does not hold up others.

Use the ``fake_github`` fixture (tests/conftest.py) or
``with FakeGitHub(prefix="/api/v3") as fake: …``.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import jwt
from werkzeug import Response

from tests.fakes.http import FakeHTTPServer, RecordedRequest, Reply, json_response

__all__ = ["FakeGitHub", "RecordedRequest", "Reply"]

_REPO_DISPATCH = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/dispatches$")
_WORKFLOW_DISPATCH = re.compile(
    r"^/repos/(?P<repo>[^/]+/[^/]+)/actions/workflows/(?P<workflow>[^/]+)/dispatches$"
)
_INSTALLATION = re.compile(r"^/repos/(?P<repo>[^/]+/[^/]+)/installation$")
_ACCESS_TOKENS = re.compile(r"^/app/installations/(?P<id>\d+)/access_tokens$")


class FakeGitHub(FakeHTTPServer):
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
    - ``secondary_limits``: ``(per_minute, per_hour)`` dispatches accepted per credential
      (GitHub: 80 and 500), None (default): no limit; ``clock``: what the windows are read
      from (seconds; default ``time.monotonic``, a test's fake clock when time is simulated).
    """

    def __init__(self, *, prefix: str = "", port: int = 0) -> None:
        super().__init__(port=port)
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
        self._next_run_id = 1000
        self.secondary_limits: tuple[int, int] | None = None
        self.clock: Callable[[], float] = time.monotonic
        self._accepted: dict[str, deque[float]] = {}  # credential → dispatch times, last hour
        self._history: dict[str, list[float]] = {}  # credential → every accepted dispatch time
        self._refused: list[tuple[float, RecordedRequest]] = []

    @property
    def url(self) -> str:
        """Base URL to use as GITHUB_API_URL (with the prefix, no trailing slash)."""
        return f"{self.base_url}{self.prefix}"

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
        self._enqueue(Reply(status, dict(headers or {}), body, delay, match), times)

    # inspection ------------------------------------------------------------------------------

    def dispatches(self) -> list[RecordedRequest]:
        return self._select(self._is_dispatch)

    def token_exchanges(self) -> list[RecordedRequest]:
        return self._select(
            lambda r: _ACCESS_TOKENS.match(self._relative(r.path) or "") is not None
        )

    def installation_lookups(self) -> list[RecordedRequest]:
        return self._select(lambda r: _INSTALLATION.match(self._relative(r.path) or "") is not None)

    def wait_for_dispatches(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` dispatches arrived; raise AssertionError on timeout."""
        return self._wait(self._is_dispatch, count, timeout, "dispatches")

    def refusals(self) -> list[tuple[float, RecordedRequest]]:
        """Dispatches refused for the secondary limits, with the ``clock`` time of each."""
        with self._lock:
            return list(self._refused)

    def accepted_at(self) -> dict[str, list[float]]:
        """Per credential, the ``clock`` times of the dispatches the limits let through, in
        order (only while ``secondary_limits`` is set)."""
        with self._lock:
            return {c: list(times) for c, times in self._history.items()}

    def _is_dispatch(self, record: RecordedRequest) -> bool:
        return (self._relative(record.path) or "").endswith("/dispatches")

    def _relative(self, path: str) -> str | None:
        if not path.startswith(self.prefix + "/"):
            return None
        return path[len(self.prefix) :]

    # serving ---------------------------------------------------------------------------------

    def _reply_path(self, record: RecordedRequest) -> str | None:
        return self._relative(record.path)

    def _unqueued_reply(self, record: RecordedRequest) -> Reply | None:
        if self.fault is not None and self._is_dispatch(record):
            return self.fault(record)
        return None

    def _reply_response(self, reply: Reply) -> Response:
        assert reply.status is not None
        return _response(reply.status, reply.body, reply.headers)

    def _serve(self, record: RecordedRequest) -> Response:
        path = self._relative(record.path)
        if path is None:
            return _response(404)
        return self._route(record, path)

    def _route(self, record: RecordedRequest, path: str) -> Response:
        credential = record.credential
        if not credential[1]:
            return _response(401, {"message": "Requires authentication"})
        if record.method == "POST" and (m := _REPO_DISPATCH.match(path)):
            if self._bad_installation_token(credential):
                return _response(401, {"message": "Bad credentials"})
            if (refused := self._over_secondary_limits(record)) is not None:
                return refused
            if not isinstance(record.json, dict) or not record.json.get("event_type"):
                return _response(422, {"message": "Invalid request.", "errors": ["event_type"]})
            return _response(204)
        if record.method == "POST" and (m := _WORKFLOW_DISPATCH.match(path)):
            if self._bad_installation_token(credential):
                return _response(401, {"message": "Bad credentials"})
            if (refused := self._over_secondary_limits(record)) is not None:
                return refused
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

    def _over_secondary_limits(self, record: RecordedRequest) -> Response | None:
        """Count a dispatch against its credential's sliding minute and hour; past either, a
        403 as GitHub answers it (the refused request is not counted)."""
        if self.secondary_limits is None:
            return None
        per_minute, per_hour = self.secondary_limits
        value = record.credential[1]
        now = self.clock()
        with self._lock:
            # An App's installation tokens count as their installation.
            key = (
                f"installation:{self.issued_tokens[value]}"
                if value in self.issued_tokens
                else value
            )
            times = self._accepted.setdefault(key, deque())
            while times and times[0] <= now - 3600:
                times.popleft()
            in_minute = [t for t in times if t > now - 60]
            if len(in_minute) < per_minute and len(times) < per_hour:
                times.append(now)
                self._history.setdefault(key, []).append(now)
                return None
            self._refused.append((now, record))
            opens = in_minute[0] + 60 if len(in_minute) >= per_minute else times[0] + 3600
        retry_after = max(1, round(opens - now + 0.5))
        return _response(
            403,
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes"
                " before you try again.",
                "documentation_url": "https://docs.github.com/rest/using-the-rest-api/"
                "rate-limits-for-the-rest-api#about-secondary-rate-limits",
                "status": "403",
            },
            {"Retry-After": str(retry_after)},
        )

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
    return json_response(status, body, headers)
