"""The fake App Store Connect itself: routing, token checks, the rate limit, recordings."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from werkzeug import Response

from tests.fakes.appstoreconnect.deliveries import DeliveriesPart
from tests.fakes.appstoreconnect.errors import Problem, error, respond
from tests.fakes.appstoreconnect.keys import AscKey, token_problem
from tests.fakes.appstoreconnect.model import Handler
from tests.fakes.appstoreconnect.resources import ResourcesPart
from tests.fakes.appstoreconnect.webhooks import WebhooksPart
from tests.fakes.http import RecordedRequest, Reply


class FakeAppStoreConnect(ResourcesPart, WebhooksPart, DeliveriesPart):
    """Configure before requests are made (attributes may also change mid-test):

    - ``key``: the :class:`AscKey` tokens must be signed with (None: any bearer is accepted).
    - ``time_offset``: seconds added to the fake's clock for token checks (1300 makes a
      freshly signed 19-minute token look expired).
    - ``rate_limit``: the hourly request budget shown in ``X-Rate-Limit``; requests beyond it
      get 429 RATE_LIMIT_EXCEEDED.

    Recordings: ``requests``, ``unserved`` (answered 404/405 by the fake itself),
    ``auth_failures`` (reasons of 401s), ``tokens`` (distinct accepted tokens, first use
    order), ``redelivered`` (template delivery ids), ``pings`` (webhook ids).
    """

    def __init__(self, key: AscKey | None = None, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.key = key
        self.time_offset = 0.0
        self.rate_limit = 3600
        self._unserved: list[RecordedRequest] = []
        self._auth_failures: list[str] = []
        self._tokens: dict[str, None] = {}  # ordered set
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(r"/v1/webhooks"), {"POST": self._create_webhook}),
            (
                re.compile(r"/v1/webhooks/(?P<id>[^/]+)"),
                {
                    "GET": self._get_webhook,
                    "PATCH": self._update_webhook,
                    "DELETE": self._delete_webhook,
                },
            ),
            (re.compile(r"/v1/webhooks/(?P<id>[^/]+)/deliveries"), {"GET": self._list_deliveries}),
            (
                re.compile(r"/v1/webhooks/(?P<id>[^/]+)/relationships/deliveries"),
                {"GET": self._list_deliveries},
            ),
            (re.compile(r"/v1/apps/(?P<id>[^/]+)/webhooks"), {"GET": self._list_webhooks}),
            (
                re.compile(r"/v1/apps/(?P<id>[^/]+)/relationships/webhooks"),
                {"GET": self._list_webhooks},
            ),
            (re.compile(r"/v1/webhookDeliveries"), {"POST": self._redeliver}),
            (re.compile(r"/v1/webhookPings"), {"POST": self._ping}),
            (re.compile(r"/v1/(?P<type>[A-Za-z]+)/(?P<id>[^/]+)"), {"GET": self._get_resource}),
            (
                re.compile(
                    r"/v1/(?P<type>[A-Za-z]+)/(?P<id>[^/]+)/relationships/(?P<rel>[A-Za-z]+)"
                ),
                {"GET": self._get_linkage},
            ),
            (
                re.compile(r"/v1/(?P<type>[A-Za-z]+)/(?P<id>[^/]+)/(?P<rel>[A-Za-z]+)"),
                {"GET": self._get_related},
            ),
        ]

    # programming: faults -----------------------------------------------------------------------

    def enqueue(
        self,
        status: int | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        delay: float = 0.0,
        match: str | None = None,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests whose path matches ``match`` (and ``method``)
        with this reply, before any token check. ``status=None`` with ``delay`` only slows the
        normal answer down."""
        self._enqueue(Reply(status, dict(headers or {}), body, delay, match, method), times)

    def clear(self) -> None:
        """Forget recordings and queued replies (resources, webhooks and deliveries stay)."""
        super().clear()
        with self._lock:
            self._unserved.clear()
            self._auth_failures.clear()
            self._tokens.clear()
            self._redelivered.clear()
            self._pings.clear()

    # inspection --------------------------------------------------------------------------------

    @property
    def unserved(self) -> list[RecordedRequest]:
        """Requests the fake itself answered 404/405: unknown path, method or resource."""
        with self._lock:
            return list(self._unserved)

    @property
    def auth_failures(self) -> list[str]:
        """Why each 401 was given, in order."""
        with self._lock:
            return list(self._auth_failures)

    @property
    def tokens(self) -> list[str]:
        """Distinct accepted bearer tokens, in order of first use."""
        with self._lock:
            return list(self._tokens)

    @property
    def redelivered(self) -> list[str]:
        """Template delivery ids of each ``POST /v1/webhookDeliveries`` that was accepted."""
        with self._lock:
            return list(self._redelivered)

    @property
    def pings(self) -> list[str]:
        """Webhook ids of each ``POST /v1/webhookPings`` that was accepted."""
        with self._lock:
            return list(self._pings)

    def requests_to(self, pattern: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path matches the regex ``pattern`` (searched)."""
        return self._select(lambda r: _matches(r, pattern, method))

    def wait_for(
        self,
        count: int = 1,
        *,
        match: str = "",
        method: str | None = None,
        timeout: float = 5.0,
    ) -> list[RecordedRequest]:
        """Block until at least ``count`` requests matching ``match``/``method`` arrived; raise
        AssertionError on timeout."""
        return self._wait(
            lambda r: _matches(r, match, method), count, timeout, f"requests matching {match!r}"
        )

    # serving -----------------------------------------------------------------------------------

    def _reply_response(self, reply: Reply) -> Response:
        assert reply.status is not None
        return respond(reply.status, reply.body)

    def _finish(self, record: RecordedRequest, reply: Reply | None, response: Response) -> Response:
        limit = self.rate_limit
        remaining = max(limit - record.seq, 0)
        response.headers["X-Rate-Limit"] = f"user-hour-lim:{limit};user-hour-rem:{remaining};"
        for name, value in (reply.headers if reply is not None else {}).items():
            response.headers[name] = value
        return response

    def _serve(self, record: RecordedRequest) -> Response:
        reason = self._authenticate(record)
        if reason is not None:
            with self._lock:
                self._auth_failures.append(reason)
            return error(401)
        if record.seq > self.rate_limit:
            return error(429)
        listing = self._get_listing(record)
        if listing is not None:
            return listing
        for pattern, methods in self._routes:
            if (found := pattern.fullmatch(record.path)) is None:
                continue
            handler = methods.get(record.method)
            if handler is None:
                allowed = ", ".join(methods)
                detail = f"The resource path does not allow '{record.method}'. Allowed: {allowed}"
                response = error(405, detail=detail)
                response.headers["Allow"] = allowed
            else:
                try:
                    response = handler(record, found)
                except Problem as problem:
                    response = problem.response
            break
        else:
            response = error(404)
        if response.status_code in (404, 405):
            with self._lock:
                self._unserved.append(record)
        return response

    # authentication ----------------------------------------------------------------------------

    def _authenticate(self, record: RecordedRequest) -> str | None:
        """None when the request carries a token Apple would accept, else why not."""
        authorization = record.header("authorization")
        if authorization is None:
            return "no Authorization header"
        token = record.token
        if token is None:
            return f"Authorization is not 'Bearer <jwt>': {authorization.partition(' ')[0]!r}"
        problem = token_problem(token, self.key, record, time.time() + self.time_offset)
        if problem is None:
            with self._lock:
                self._tokens.setdefault(token)
        return problem


def _matches(record: RecordedRequest, pattern: str, method: str | None) -> bool:
    return bool(re.search(pattern, record.path)) and (method is None or record.method == method)
