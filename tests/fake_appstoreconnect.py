"""A small fake App Store Connect API on 127.0.0.1 for tests: real HTTP, no mocks.

It stands in for https://api.appstoreconnect.apple.com (use :attr:`FakeAppStoreConnect.url`
as ASC_API_URL) and records every request. It serves::

    GET    /v1/{type}/{id}                           -> documents added with add_resource()
    GET    /v1/{type}/{id}/{relationship}            -> their related documents
    GET    /v1/{type}/{id}/relationships/{rel}       -> the linkage ({"data": {type, id}})
    POST   /v1/webhooks                              -> 201 (422/409 on a bad body, 11th hook)
    GET    /v1/webhooks/{id}                         -> 200
    PATCH  /v1/webhooks/{id}                         -> 200
    DELETE /v1/webhooks/{id}                         -> 204
    GET    /v1/apps/{id}/webhooks                    -> 200, paginated (limit ≤ 200, cursor)
    GET    /v1/apps/{id}/relationships/webhooks      -> 200, linkages only
    GET    /v1/webhooks/{id}/deliveries              -> 200, filters, include=event, paginated
    GET    /v1/webhooks/{id}/relationships/deliveries-> 200, linkages only
    POST   /v1/webhookDeliveries                     -> 201 (redelivery of a delivery)
    POST   /v1/webhookPings                          -> 201 (adds a ping delivery)

Anything else is answered 404 (unknown path or resource) or 405 (known path, other method)
and also kept in :attr:`FakeAppStoreConnect.unserved`. Every error uses Apple's document
shape ``{"errors": [{"id", "status", "code", "title", "detail", "source"?}]}``.

Every request must carry ``Authorization: Bearer <jwt>`` signed with the fake's
:class:`AscKey` the way Apple checks it (docs/protocols.md, "App Store Connect API token"):
header ``alg`` ES256, ``kid`` the key id, ``typ`` JWT; a valid ES256 signature; ``iss`` the
issuer id; ``aud`` ``appstoreconnect-v1``; ``exp - iat`` at most 1200 s; not expired; ``iat``
at most 60 s ahead; a ``scope``, when present, must name the request. A bad token gets Apple's 401
NOT_AUTHORIZED and the reason is appended to :attr:`FakeAppStoreConnect.auth_failures`.
:attr:`FakeAppStoreConnect.tokens` lists the distinct accepted tokens (to check reuse), and
``time_offset`` moves the fake's clock (to make a cached token look expired). Every answer
carries ``X-Rate-Limit: user-hour-lim:3600;user-hour-rem:<n>;``, ``n`` going down by one per
request; past ``rate_limit`` requests the fake answers 429 RATE_LIMIT_EXCEEDED.

Faults are queued with :meth:`FakeAppStoreConnect.enqueue` (status, headers, body, delay, path
regex, method). A queued reply answers the next matching request BEFORE the token is checked;
its body defaults to Apple's error document for the status. ``delay`` longer than the
client's timeout simulates a timeout. Requests run on their own threads, so a slow reply does
not hold up others.

Fixtures: ``asc_key`` (a fresh EC P-256 key, session-wide) and ``fake_asc`` (a started fake
checking tokens against ``asc_key``; the test fails if a handler crashed). Without fixtures::

    key = generate_asc_key()
    with FakeAppStoreConnect(key) as fake:
        fake.load_samples()
        hook = fake.add_webhook("1234567890", url="https://bridge.example/hooks/ios")
        fake.add_delivery(hook, {"data": {...}}, state="FAILED")
        ...  # point ASC_API_URL=fake.url, ASC_KEY_ID=key.key_id, ASC_ISSUER_ID=key.issuer_id,
        ...  # ASC_PRIVATE_KEY=key.private_pem at the code under test
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

AUDIENCE = "appstoreconnect-v1"
MAX_TOKEN_LIFETIME = 20 * 60
MAX_WEBHOOKS_PER_APP = 10
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
SAMPLES_DIR = Path(__file__).parent / "samples" / "appstoreconnect"
SAMPLE_BUILD_ID = "b0d1e2f3-a4b5-4c6d-8e7f-8091a2b3c4d5"  # the build of the appStoreVersions sample

# WebhookEventType, docs/protocols.md, "Event types" (pings have none).
EVENT_TYPES = frozenset(
    {
        "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED",
        "BUILD_UPLOAD_STATE_UPDATED",
        "BUILD_BETA_DETAIL_EXTERNAL_BUILD_STATE_UPDATED",
        "BETA_FEEDBACK_SCREENSHOT_SUBMISSION_CREATED",
        "BETA_FEEDBACK_CRASH_SUBMISSION_CREATED",
        "BACKGROUND_ASSET_VERSION_STATE_UPDATED",
        "BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED",
        "BACKGROUND_ASSET_VERSION_EXTERNAL_BETA_RELEASE_STATE_UPDATED",
        "BACKGROUND_ASSET_VERSION_APP_STORE_RELEASE_STATE_UPDATED",
        "ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED",
        "ALTERNATIVE_DISTRIBUTION_PACKAGE_AVAILABLE_UPDATED",
        "ALTERNATIVE_DISTRIBUTION_TERRITORY_AVAILABILITY_UPDATED",
    }
)
DELIVERY_STATES = ("SUCCEEDED", "FAILED", "PENDING")
_WEBHOOK_ATTRIBUTES = ("name", "secret", "eventTypes", "url", "enabled")
_SCOPE_IGNORED = frozenset({"limit", "cursor", "sort"})
_PACIFIC = timezone(timedelta(hours=-8))  # dates are shown like the API samples

# status -> (code, title, detail) of Apple's error document
_ERRORS: dict[int, tuple[str, str, str]] = {
    400: (
        "PARAMETER_ERROR.INVALID",
        "A parameter has an invalid value",
        "A parameter of the request has an invalid value.",
    ),
    401: (
        "NOT_AUTHORIZED",
        "Authentication credentials are missing or invalid.",
        "Provide a properly configured and signed bearer token, and make sure that it has not "
        "expired. Learn more about Generating Tokens for API Requests "
        "https://developer.apple.com/go/?id=api-generating-tokens",
    ),
    403: (
        "FORBIDDEN_ERROR",
        "This request is forbidden for security reasons",
        "The API key in use does not allow this request",
    ),
    404: (
        "NOT_FOUND",
        "The specified resource does not exist",
        "The path provided does not match a defined resource type.",
    ),
    405: (
        "METHOD_NOT_ALLOWED",
        "The request method is not valid for the resource path.",
        "The request method is not valid for the resource path.",
    ),
    409: (
        "ENTITY_ERROR",
        "There is a problem with the request entity",
        "The request entity conflicts with the resource.",
    ),
    422: (
        "ENTITY_ERROR",
        "There is a problem with the request entity",
        "The request entity is invalid.",
    ),
    429: (
        "RATE_LIMIT_EXCEEDED",
        "The request rate limit has been reached.",
        "We've received too many requests for this API. Please wait and try again or slow "
        "down your request rate.",
    ),
    500: (
        "UNEXPECTED_ERROR",
        "An unexpected error occurred.",
        "An unexpected error occurred on the server side. If this issue continues, contact us "
        "at https://developer.apple.com/contact/.",
    ),
}


# key material ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AscKey:
    """An App Store Connect team API key made for the test (never a real one)."""

    key_id: str  # 10 upper-case letters and digits, like Apple's
    issuer_id: str  # a uuid4 string
    private_pem: str  # PKCS8 "-----BEGIN PRIVATE KEY-----", like AuthKey_<key_id>.p8
    public_pem: bytes  # SubjectPublicKeyInfo PEM, what the fake verifies with

    def write_p8(self, directory: Path) -> Path:
        """Write ``AuthKey_<key_id>.p8`` into ``directory``, as downloaded from Apple."""
        path = directory / f"AuthKey_{self.key_id}.p8"
        path.write_text(self.private_pem)
        return path


def generate_asc_key(key_id: str | None = None, issuer_id: str | None = None) -> AscKey:
    """A fresh EC P-256 key with a random key id and issuer id (unless given)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    alphabet = string.ascii_uppercase + string.digits
    return AscKey(
        key_id=key_id or "".join(secrets.choice(alphabet) for _ in range(10)),
        issuer_id=issuer_id or str(uuid.uuid4()),
        private_pem=private_pem,
        public_pem=public_pem,
    )


# recording -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    args: Mapping[str, str]  # query parameters, decoded (first value of each)
    query_string: str  # as received
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    json: Any  # parsed body, None when empty or not JSON
    at: float  # time.monotonic() on arrival

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def token(self) -> str | None:
        """The bearer token, or None without ``Authorization: Bearer …``."""
        scheme, _, value = (self.header("authorization") or "").partition(" ")
        return value if scheme == "Bearer" and value else None

    @property
    def claims(self) -> dict[str, Any] | None:
        """The token's claims, NOT verified (None when there is no decodable token)."""
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
    body: Any = None  # dict/list → JSON; str/bytes as is; None → Apple's error for ≥ 400
    delay: float = 0.0
    match: str | None = None  # regex searched in the path; None: any request
    method: str | None = None  # None: any method


class _Server(HTTPServer):
    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)  # stop() waits one poll: keep it short


# state ---------------------------------------------------------------------------------------


@dataclass
class _Webhook:
    id: str
    app_id: str
    name: str
    secret: str
    event_types: list[str]
    url: str
    enabled: bool


@dataclass
class _Event:
    id: str
    event_type: str | None
    payload: str
    ping: bool
    created: datetime


@dataclass
class _Delivery:
    id: str
    webhook_id: str
    event: _Event
    state: str
    created: datetime
    sent: datetime | None
    error_message: str | None
    http_status: int | None
    response_body: str | None
    redelivery: bool
    url: str
    seq: int


class _Problem(Exception):
    """An error answer raised from deep inside a handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


Handler = Callable[[RecordedRequest, re.Match[str]], Response]


class FakeAppStoreConnect:
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
        self.key = key
        self.time_offset = 0.0
        self.rate_limit = 3600
        self._requests: list[RecordedRequest] = []
        self._unserved: list[RecordedRequest] = []
        self._auth_failures: list[str] = []
        self._tokens: dict[str, None] = {}  # ordered set
        self._redelivered: list[str] = []
        self._pings: list[str] = []
        self._queue: list[Reply] = []
        self._count = 0
        self._seq = 0
        self._resources: dict[tuple[str, str], dict[str, Any]] = {}
        self._related: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._webhooks: dict[str, _Webhook] = {}
        self._deliveries: dict[str, _Delivery] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
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
        self._server = _Server(host="127.0.0.1", port=port, threaded=True)
        self._server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    # lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeAppStoreConnect:
        self._stopping.clear()
        self._server.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies
        self._server.stop()

    def check(self) -> None:
        """Re-raise the first exception a handler raised (a bug in the fake or the test)."""
        self._server.check_handler_errors()

    def __enter__(self) -> FakeAppStoreConnect:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as ASC_API_URL (no trailing slash)."""
        return f"http://127.0.0.1:{self._server.port}"

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
        reply = Reply(status, dict(headers or {}), body, delay, match, method)
        with self._lock:
            self._queue.extend([reply] * times)

    def clear(self) -> None:
        """Forget recordings and queued replies (resources, webhooks and deliveries stay)."""
        with self._lock:
            self._requests.clear()
            self._unserved.clear()
            self._auth_failures.clear()
            self._tokens.clear()
            self._redelivered.clear()
            self._pings.clear()
            self._queue.clear()

    # programming: data -------------------------------------------------------------------------

    def add_resource(
        self, document: Mapping[str, Any], *, related: Mapping[str, Any] | None = None
    ) -> None:
        """Serve ``document`` (``{"data": {"type", "id", …}}``) at ``GET /v1/{type}/{id}``;
        ``related`` maps a relationship name to the document served at
        ``GET /v1/{type}/{id}/{name}`` (None: ``{"data": null}``)."""
        doc: dict[str, Any] = json.loads(json.dumps(document))
        data = doc.get("data")
        if not isinstance(data, dict) or not data.get("type") or not data.get("id"):
            raise ValueError("a resource document needs data.type and data.id")
        key = (str(data["type"]), str(data["id"]))
        with self._lock:
            self._resources[key] = doc
            for name, rel_doc in (related or {}).items():
                stored = {"data": None} if rel_doc is None else json.loads(json.dumps(rel_doc))
                self._related[(*key, name)] = stored

    def load_samples(self, directory: Path = SAMPLES_DIR) -> None:
        """Serve the three ``api-*.json`` samples; the appStoreVersions one has a related
        ``build`` (id :data:`SAMPLE_BUILD_ID`, also served at ``/v1/builds/{id}``)."""
        build = {
            "data": {
                "type": "builds",
                "id": SAMPLE_BUILD_ID,
                "attributes": {
                    "version": "42",
                    "uploadedDate": "2025-12-15T18:40:11-08:00",
                    "processingState": "VALID",
                    "minOsVersion": "17.0",
                    "expired": False,
                },
            }
        }
        self.add_resource(build)
        for path in sorted(directory.glob("api-*.json")):
            document = json.loads(path.read_text())
            extra = {"build": build} if document["data"]["type"] == "appStoreVersions" else None
            self.add_resource(document, related=extra)

    def add_webhook(
        self,
        app_id: str,
        *,
        url: str = "https://bridge.example/hooks/ios",
        secret: str = "test-asc-secret-0123456789",
        event_types: list[str] | None = None,
        name: str = "bridge",
        enabled: bool = True,
    ) -> str:
        """Create a webhook without HTTP (no checks); returns its id."""
        hook = _Webhook(
            id=str(uuid.uuid4()),
            app_id=app_id,
            name=name,
            secret=secret,
            event_types=list(event_types or sorted(EVENT_TYPES)),
            url=url,
            enabled=enabled,
        )
        with self._lock:
            self._webhooks[hook.id] = hook
        return hook.id

    def add_delivery(
        self,
        webhook_id: str,
        payload: bytes | str | Mapping[str, Any],
        *,
        state: str = "FAILED",
        created: datetime | None = None,
        ping: bool = False,
        event_type: str | None = None,
        error_message: str | None = None,
        http_status: int | None = None,
        response_body: str | None = None,
    ) -> str:
        """Seed one delivery (and its event) of ``payload`` to webhook ``webhook_id``; returns
        the delivery id.

        The event id is the payload's ``data.id`` when it has one; ``eventType`` comes from
        the payload's ``data.type`` (camelCase → SCREAMING_SNAKE) unless ``event_type`` is
        given; a ``webhookPingCreated`` payload is a ping. FAILED defaults to HTTP 500,
        SUCCEEDED to 200, PENDING has no response yet. ``created`` defaults to now."""
        if state not in DELIVERY_STATES:
            raise ValueError(f"state must be one of {DELIVERY_STATES}")
        if isinstance(payload, bytes):
            text = payload.decode()
        elif isinstance(payload, str):
            text = payload
        else:
            text = json.dumps(payload)
        try:
            data = json.loads(text).get("data") or {}
        except (ValueError, AttributeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        data_type = str(data.get("type") or "")
        ping = ping or data_type == "webhookPingCreated"
        if event_type is None and not ping:
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", data_type).upper()
            event_type = snake if snake in EVENT_TYPES else None
        when = _aware(created) if created is not None else _now()
        event = _Event(
            id=str(data.get("id") or uuid.uuid4()),
            event_type=None if ping else event_type,
            payload=text,
            ping=ping,
            created=when,
        )
        if state == "FAILED":
            http_status = 500 if http_status is None else http_status
            error_message = error_message or f"The endpoint answered HTTP {http_status}."
        elif state == "SUCCEEDED":
            http_status = 200 if http_status is None else http_status
        with self._lock:
            hook = self._webhooks[webhook_id]
            delivery = self._new_delivery(hook, event, state, when, redelivery=False)
            delivery.error_message = error_message
            delivery.http_status = http_status
            if response_body is not None:
                delivery.response_body = response_body
        return delivery.id

    # inspection --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

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
        with self._lock:
            return self._select_locked(pattern, method)

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
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := self._select_locked(match, method)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} requests matching {match!r}, got {len(found)}"
                    )
                self._arrived.wait(left)
            return found

    def webhook_secret(self, webhook_id: str) -> str:
        with self._lock:
            return self._webhooks[webhook_id].secret

    def webhooks(self, app_id: str | None = None) -> list[dict[str, Any]]:
        """Webhook resources (as served, without secrets), of one app or all."""
        with self._lock:
            return [
                self._webhook_json(h)
                for h in self._webhooks.values()
                if app_id is None or h.app_id == app_id
            ]

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        """A webhook's delivery resources as served, newest first."""
        with self._lock:
            return [self._delivery_json(d) for d in self._deliveries_of(webhook_id)]

    def _select_locked(self, pattern: str, method: str | None) -> list[RecordedRequest]:
        return [
            r
            for r in self._requests
            if re.search(pattern, r.path) and (method is None or r.method == method)
        ]

    # serving -----------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        body = request.get_data()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            args=request.args.to_dict(),
            query_string=request.query_string.decode("latin-1"),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            json=parsed,
            at=time.monotonic(),
        )
        with self._arrived:
            self._requests.append(record)
            self._count += 1
            limit = self.rate_limit
            over = self._count > limit
            remaining = max(limit - self._count, 0)
            self._arrived.notify_all()
            reply = self._pop_reply(record)
        if reply is not None and reply.delay:
            self._stopping.wait(reply.delay)
        if reply is not None and reply.status is not None:
            response = _response(reply.status, reply.body)
        else:
            response = self._serve(record, over)
        response.headers["X-Rate-Limit"] = f"user-hour-lim:{limit};user-hour-rem:{remaining};"
        for name, value in (reply.headers if reply is not None else {}).items():
            response.headers[name] = value
        return response

    def _pop_reply(self, record: RecordedRequest) -> Reply | None:
        for i, reply in enumerate(self._queue):
            if (reply.match is None or re.search(reply.match, record.path)) and (
                reply.method is None or reply.method == record.method
            ):
                return self._queue.pop(i)
        return None

    def _serve(self, record: RecordedRequest, over_limit: bool) -> Response:
        reason = self._authenticate(record)
        if reason is not None:
            with self._lock:
                self._auth_failures.append(reason)
            return _error(401)
        if over_limit:
            return _error(429)
        for pattern, methods in self._routes:
            if (found := pattern.fullmatch(record.path)) is None:
                continue
            handler = methods.get(record.method)
            if handler is None:
                allowed = ", ".join(methods)
                detail = f"The resource path does not allow '{record.method}'. Allowed: {allowed}"
                response = _error(405, detail=detail)
                response.headers["Allow"] = allowed
            else:
                try:
                    response = handler(record, found)
                except _Problem as problem:
                    response = problem.response
            break
        else:
            response = _error(404)
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
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            return f"not a JWT: {exc}"
        key = self.key
        if key is None:
            with self._lock:
                self._tokens.setdefault(token)
            return None
        if header.get("alg") != "ES256":
            return f"header alg {header.get('alg')!r} is not 'ES256'"
        if header.get("kid") != key.key_id:
            return f"header kid {header.get('kid')!r} is not the key id {key.key_id!r}"
        if header.get("typ") != "JWT":
            return f"header typ {header.get('typ')!r} is not 'JWT'"
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public_pem,
                algorithms=["ES256"],
                audience=AUDIENCE,
                options={
                    "verify_exp": False,  # checked below against the fake's clock
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "iat", "exp", "aud"],
                },
            )
        except jwt.InvalidAudienceError as exc:
            return f"aud: {exc}"
        except jwt.PyJWTError as exc:
            return f"{type(exc).__name__}: {exc}"
        if claims["aud"] != AUDIENCE:
            return f"aud {claims['aud']!r} is not {AUDIENCE!r}"
        if claims["iss"] != key.issuer_id:
            return f"iss {claims['iss']!r} is not the issuer id {key.issuer_id!r}"
        iat, exp = claims["iat"], claims["exp"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
            return f"iat {iat!r} / exp {exp!r} are not numbers"
        if exp - iat > MAX_TOKEN_LIFETIME:
            return f"lifetime exp - iat = {exp - iat:g} s is over {MAX_TOKEN_LIFETIME} s"
        now = time.time() + self.time_offset
        if exp <= now:
            return f"expired {now - exp:.0f} s ago"
        if iat > now + 60:
            return f"iat is {iat - now:.0f} s in the future"
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > now + 60:
            return f"nbf is {nbf - now:.0f} s in the future"
        if "scope" in claims and not _scope_allows(claims["scope"], record):
            return f"scope {claims['scope']!r} does not allow {record.method} {record.path}"
        with self._lock:
            self._tokens.setdefault(token)
        return None

    # generic resources -------------------------------------------------------------------------

    def _get_resource(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        key = (found["type"], found["id"])
        with self._lock:
            doc = copy.deepcopy(self._resources.get(key))
        if doc is None:
            return _not_found(*key)
        return _response(200, self._rewrite_links(doc, record.path))

    def _get_related(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        key = (found["type"], found["id"], found["rel"])
        with self._lock:
            known = key[:2] in self._resources
            doc = copy.deepcopy(self._related.get(key))
        if not known:
            return _not_found(*key[:2])
        if doc is None:
            return _error(404, detail=f"The relationship '{key[2]}' does not exist.")
        return _response(200, self._rewrite_links(doc, record.path))

    def _get_linkage(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        key = (found["type"], found["id"], found["rel"])
        with self._lock:
            known = key[:2] in self._resources
            doc = copy.deepcopy(self._related.get(key))
        if not known:
            return _not_found(*key[:2])
        if doc is None:
            return _error(404, detail=f"The relationship '{key[2]}' does not exist.")
        data = doc.get("data")
        if isinstance(data, list):
            linkage: Any = [{"type": d["type"], "id": d["id"]} for d in data]
        elif isinstance(data, dict):
            linkage = {"type": data["type"], "id": data["id"]}
        else:
            linkage = None
        related = f"{self.url}/v1/{key[0]}/{key[1]}/{key[2]}"
        return _response(
            200, {"data": linkage, "links": {"self": self.url + record.path, "related": related}}
        )

    def _rewrite_links(self, doc: dict[str, Any], path: str) -> dict[str, Any]:
        data = doc.get("data")
        items = data if isinstance(data, list) else [data]
        for item in [*items, *doc.get("included", [])]:
            if isinstance(item, dict) and item.get("type") and item.get("id"):
                item.setdefault("links", {})["self"] = f"{self.url}/v1/{item['type']}/{item['id']}"
        doc.setdefault("links", {})["self"] = self.url + path
        return doc

    # webhooks ----------------------------------------------------------------------------------

    def _webhook_json(self, hook: _Webhook) -> dict[str, Any]:
        return {
            "type": "webhooks",
            "id": hook.id,
            "attributes": {
                "enabled": hook.enabled,
                "eventTypes": list(hook.event_types),
                "name": hook.name,
                "url": hook.url,
            },
            "relationships": {"app": {"data": {"type": "apps", "id": hook.app_id}}},
            "links": {"self": f"{self.url}/v1/webhooks/{hook.id}"},
        }

    def _webhook_or_404(self, webhook_id: str) -> _Webhook:
        hook = self._webhooks.get(webhook_id)
        if hook is None:
            raise _Problem(_not_found("webhooks", webhook_id))
        return hook

    def _create_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = _request_data(record, "webhooks")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise _Problem(_entity_error(422, "REQUIRED", "/data/attributes", "is required"))
        for name in _WEBHOOK_ATTRIBUTES:
            if attributes.get(name) is None:
                raise _Problem(
                    _entity_error(
                        422, "ATTRIBUTE.REQUIRED", f"/data/attributes/{name}", "is required"
                    )
                )
        _check_webhook_attributes(attributes)
        app = (data.get("relationships") or {}).get("app")
        app_data = app.get("data") if isinstance(app, dict) else None
        if not isinstance(app_data, dict) or not app_data.get("id"):
            raise _Problem(
                _entity_error(
                    422, "RELATIONSHIP.REQUIRED", "/data/relationships/app", "is required"
                )
            )
        if app_data.get("type") != "apps":
            raise _Problem(
                _entity_error(
                    409, "RELATIONSHIP.INVALID", "/data/relationships/app", "must be of type apps"
                )
            )
        app_id = str(app_data["id"])
        with self._lock:
            if sum(h.app_id == app_id for h in self._webhooks.values()) >= MAX_WEBHOOKS_PER_APP:
                return _error(
                    409,
                    detail=f"An app can have at most {MAX_WEBHOOKS_PER_APP} webhooks.",
                    source={"pointer": "/data/relationships/app"},
                )
            hook = _Webhook(
                id=str(uuid.uuid4()),
                app_id=app_id,
                name=attributes["name"],
                secret=attributes["secret"],
                event_types=list(attributes["eventTypes"]),
                url=attributes["url"],
                enabled=attributes["enabled"],
            )
            self._webhooks[hook.id] = hook
            resource = self._webhook_json(hook)
        return _response(201, {"data": resource, "links": {"self": resource["links"]["self"]}})

    def _get_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        self._check_params(record, {"fields[webhooks]", "fields[apps]", "include"})
        with self._lock:
            resource = self._webhook_json(self._webhook_or_404(found["id"]))
        return _response(200, {"data": resource, "links": {"self": self.url + record.path}})

    def _update_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = _request_data(record, "webhooks")
        if data.get("id") != found["id"]:
            return _error(
                409,
                code="ENTITY_ERROR.ID.INVALID",
                detail=f"The id {data.get('id')!r} in the body does not match the path.",
                source={"pointer": "/data/id"},
            )
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise _Problem(_entity_error(422, "INVALID", "/data/attributes", "must be an object"))
        changes = {k: v for k, v in attributes.items() if v is not None}
        _check_webhook_attributes(changes)
        with self._lock:
            hook = self._webhook_or_404(found["id"])
            app = ((data.get("relationships") or {}).get("app") or {}).get("data")
            if isinstance(app, dict) and app.get("id") != hook.app_id:
                return _error(
                    409,
                    code="ENTITY_ERROR.RELATIONSHIP.INVALID",
                    detail="The app of a webhook cannot be changed.",
                    source={"pointer": "/data/relationships/app"},
                )
            hook.name = changes.get("name", hook.name)
            hook.secret = changes.get("secret", hook.secret)
            hook.event_types = list(changes.get("eventTypes", hook.event_types))
            hook.url = changes.get("url", hook.url)
            hook.enabled = changes.get("enabled", hook.enabled)
            resource = self._webhook_json(hook)
        return _response(200, {"data": resource, "links": {"self": self.url + record.path}})

    def _delete_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        with self._lock:
            self._webhook_or_404(found["id"])
            del self._webhooks[found["id"]]
            for delivery_id in [
                d.id for d in self._deliveries.values() if d.webhook_id == found["id"]
            ]:
                del self._deliveries[delivery_id]
        return _response(204)

    def _list_webhooks(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        linkage = "/relationships/" in record.path
        allowed = {"limit", "cursor"} if linkage else {"limit", "cursor", "fields[webhooks]"}
        self._check_params(record, allowed)
        with self._lock:
            hooks = [h for h in self._webhooks.values() if h.app_id == found["id"]]
            items = [
                {"type": "webhooks", "id": h.id} if linkage else self._webhook_json(h)
                for h in hooks
            ]
        page, links, meta = self._paginate(record, items)
        return _response(200, {"data": page, "links": links, "meta": meta})

    # deliveries --------------------------------------------------------------------------------

    def _new_delivery(
        self, hook: _Webhook, event: _Event, state: str, created: datetime, *, redelivery: bool
    ) -> _Delivery:
        """Store a delivery (caller holds the lock)."""
        self._seq += 1
        delivery = _Delivery(
            id=str(uuid.uuid4()),
            webhook_id=hook.id,
            event=event,
            state=state,
            created=created,
            sent=None if state == "PENDING" else created + timedelta(seconds=1),
            error_message=None,
            http_status=None,
            response_body=None if state == "PENDING" else "",
            redelivery=redelivery,
            url=hook.url,
            seq=self._seq,
        )
        self._deliveries[delivery.id] = delivery
        return delivery

    def _deliveries_of(self, webhook_id: str) -> list[_Delivery]:
        found = [d for d in self._deliveries.values() if d.webhook_id == webhook_id]
        return sorted(found, key=lambda d: (d.created, d.seq), reverse=True)

    def _delivery_json(self, delivery: _Delivery) -> dict[str, Any]:
        response = (
            None
            if delivery.http_status is None and delivery.response_body is None
            else {"httpStatusCode": delivery.http_status, "body": delivery.response_body}
        )
        return {
            "type": "webhookDeliveries",
            "id": delivery.id,
            "attributes": {
                "createdDate": _iso(delivery.created),
                "deliveryState": delivery.state,
                "errorMessage": delivery.error_message,
                "redelivery": delivery.redelivery,
                "sentDate": _iso(delivery.sent) if delivery.sent else None,
                "request": {"url": delivery.url},
                "response": response,
            },
            "relationships": {
                "event": {"data": {"type": "webhookEvents", "id": delivery.event.id}}
            },
        }

    def _event_json(self, event: _Event) -> dict[str, Any]:
        return {
            "type": "webhookEvents",
            "id": event.id,
            "attributes": {
                "eventType": event.event_type,
                "payload": event.payload,
                "ping": event.ping,
                "createdDate": _iso(event.created),
            },
        }

    def _list_deliveries(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        linkage = "/relationships/" in record.path
        filters = {
            "filter[deliveryState]",
            "filter[createdDateGreaterThanOrEqualTo]",
            "filter[createdDateLessThan]",
            "limit",
            "cursor",
        }
        extra = {"include", "fields[webhookDeliveries]", "fields[webhookEvents]"}
        self._check_params(record, filters if linkage else filters | extra)
        args = record.args
        states: set[str] | None = None
        if "filter[deliveryState]" in args:
            states = set(args["filter[deliveryState]"].split(","))
            if bad := sorted(states - set(DELIVERY_STATES)):
                raise _Problem(
                    _parameter_error(
                        "filter[deliveryState]",
                        f"{bad[0]!r} is not a valid value; use {', '.join(DELIVERY_STATES)}",
                    )
                )
        since = _date_param(args, "filter[createdDateGreaterThanOrEqualTo]")
        until = _date_param(args, "filter[createdDateLessThan]")
        include_event = False
        if "include" in args:
            for name in args["include"].split(","):
                if name != "event":
                    raise _Problem(
                        _parameter_error("include", f"{name!r} is not a valid relationship")
                    )
            include_event = True
        with self._lock:
            self._webhook_or_404(found["id"])
            selected = [
                d
                for d in self._deliveries_of(found["id"])
                if (states is None or d.state in states)
                and (since is None or d.created >= since)
                and (until is None or d.created < until)
            ]
        page, links, meta = self._paginate(record, selected)
        if linkage:
            data = [{"type": "webhookDeliveries", "id": d.id} for d in page]
            return _response(200, {"data": data, "links": links, "meta": meta})
        document: dict[str, Any] = {"data": [self._delivery_json(d) for d in page]}
        if include_event and page:
            events = {d.event.id: d.event for d in page}
            document["included"] = [self._event_json(e) for e in events.values()]
        document |= {"links": links, "meta": meta}
        return _response(200, document)

    def _redeliver(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = _request_data(record, "webhookDeliveries")
        template = _related_id(data, "template", "webhookDeliveries")
        with self._lock:
            original = self._deliveries.get(template)
            if original is None:
                raise _Problem(
                    _entity_error(
                        422,
                        "RELATIONSHIP.INVALID",
                        "/data/relationships/template",
                        f"no webhookDeliveries with id {template!r}",
                    )
                )
            hook = self._webhooks[original.webhook_id]
            delivery = self._new_delivery(hook, original.event, "PENDING", _now(), redelivery=True)
            self._redelivered.append(template)
            resource = self._delivery_json(delivery)
        return _response(201, {"data": resource, "links": {"self": self.url + record.path}})

    def _ping(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = _request_data(record, "webhookPings")
        webhook_id = _related_id(data, "webhook", "webhooks")
        now = _now()
        event_id = str(uuid.uuid4())
        payload = {
            "data": {
                "type": "webhookPingCreated",
                "id": event_id,
                "version": 1,
                "attributes": {"timestamp": now.isoformat().replace("+00:00", "Z")},
            }
        }
        event = _Event(event_id, None, json.dumps(payload), True, now)
        with self._lock:
            hook = self._webhooks.get(webhook_id)
            if hook is None:
                raise _Problem(
                    _entity_error(
                        422,
                        "RELATIONSHIP.INVALID",
                        "/data/relationships/webhook",
                        f"no webhooks with id {webhook_id!r}",
                    )
                )
            delivery = self._new_delivery(hook, event, "SUCCEEDED", now, redelivery=False)
            delivery.http_status = 200
            self._pings.append(webhook_id)
        ping = {
            "type": "webhookPings",
            "id": str(uuid.uuid4()),
            "links": {"self": f"{self.url}/v1/webhookPings"},
        }
        return _response(201, {"data": ping, "links": {"self": self.url + record.path}})

    # query parameters --------------------------------------------------------------------------

    def _check_params(self, record: RecordedRequest, allowed: set[str]) -> None:
        for name in record.args:
            if name not in allowed:
                raise _Problem(
                    _error(
                        400,
                        code="PARAMETER_ERROR.ILLEGAL",
                        title="A parameter is not allowed for this request",
                        detail=f"The parameter '{name}' can not be used with this request",
                        source={"parameter": name},
                    )
                )

    def _paginate(
        self, record: RecordedRequest, items: list[Any]
    ) -> tuple[list[Any], dict[str, str], dict[str, Any]]:
        args = record.args
        limit = DEFAULT_LIMIT
        if "limit" in args:
            text = args["limit"]
            if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
                raise _Problem(
                    _parameter_error(
                        "limit", f"{text!r} is not a valid limit; the maximum is {MAX_LIMIT}"
                    )
                )
            limit = int(text)
        offset = 0
        if "cursor" in args:
            offset = _decode_cursor(args["cursor"])
        page = items[offset : offset + limit]
        self_url = (
            self.url + record.path + (f"?{record.query_string}" if record.query_string else "")
        )
        links = {"self": self_url}
        if offset + limit < len(items):
            pairs = [(k, v) for k, v in parse_qsl(record.query_string) if k != "cursor"]
            pairs.append(("cursor", _encode_cursor(offset + limit)))
            links["next"] = f"{self.url}{record.path}?{urlencode(pairs, safe='[],')}"
        return page, links, {"paging": {"total": len(items), "limit": limit}}


# helpers -------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _iso(value: datetime) -> str:
    """Like the API samples: ``2025-12-15T19:12:55-08:00``."""
    return value.astimezone(_PACIFIC).isoformat(timespec="seconds")


def _date_param(args: Mapping[str, str], name: str) -> datetime | None:
    if name not in args:
        return None
    text = args[name]
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in text:
        raise _Problem(_parameter_error(name, f"{text!r} is not an ISO 8601 date-time"))
    return value


def _encode_cursor(offset: int) -> str:
    raw = json.dumps({"offset": str(offset)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return int(json.loads(raw)["offset"])
    except (ValueError, TypeError, KeyError):
        raise _Problem(_parameter_error("cursor", f"{cursor!r} is not a valid cursor")) from None


def _scope_allows(scope: Any, record: RecordedRequest) -> bool:
    """Apple's scope: ``["GET /v1/apps?filter[platform]=IOS", …]``; parameter order, limit,
    cursor and sort do not matter."""
    if not isinstance(scope, list):
        return False

    def params(query: str) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in parse_qsl(query) if k not in _SCOPE_IGNORED)

    wanted = (record.method, record.path, params(record.query_string))
    for entry in scope:
        method, _, target = str(entry).partition(" ")
        parts = urlsplit(target)
        if (method, parts.path, params(parts.query)) == wanted:
            return True
    return False


def _request_data(record: RecordedRequest, type_: str) -> dict[str, Any]:
    """``data`` of a JSON:API request body of type ``type_``, or an Apple error."""
    body = record.json
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise _Problem(
            _error(
                422,
                code="ENTITY_UNPROCESSABLE",
                title="The request entity is malformed",
                detail="The body must be a JSON object with a 'data' object.",
            )
        )
    if data.get("type") != type_:
        raise _Problem(
            _error(
                409,
                code="ENTITY_ERROR.TYPE.INVALID",
                detail=f"The type {data.get('type')!r} is not {type_!r}.",
                source={"pointer": "/data/type"},
            )
        )
    return data


def _related_id(data: Mapping[str, Any], name: str, type_: str) -> str:
    relationship = (data.get("relationships") or {}).get(name)
    linkage = relationship.get("data") if isinstance(relationship, dict) else None
    pointer = f"/data/relationships/{name}"
    if not isinstance(linkage, dict) or not linkage.get("id"):
        raise _Problem(_entity_error(422, "RELATIONSHIP.REQUIRED", pointer, "is required"))
    if linkage.get("type") != type_:
        raise _Problem(
            _entity_error(409, "RELATIONSHIP.INVALID", pointer, f"must be of type {type_}")
        )
    return str(linkage["id"])


def _check_webhook_attributes(attributes: Mapping[str, Any]) -> None:
    """Raise a 422 for an unknown or invalid webhook attribute."""
    for name, value in attributes.items():
        pointer = f"/data/attributes/{name}"
        if name not in _WEBHOOK_ATTRIBUTES:
            raise _Problem(_entity_error(422, "ATTRIBUTE.UNKNOWN", pointer, "is not an attribute"))
        if name in ("name", "secret") and (not isinstance(value, str) or not value):
            raise _Problem(
                _entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a non-empty string")
            )
        if name == "enabled" and not isinstance(value, bool):
            raise _Problem(_entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a boolean"))
        if name == "url":
            parts = urlsplit(value) if isinstance(value, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise _Problem(
                    _entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be an http(s) URL")
                )
        if name == "eventTypes":
            if not isinstance(value, list) or not value:
                raise _Problem(
                    _entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a non-empty list")
                )
            for i, item in enumerate(value):
                if item not in EVENT_TYPES:
                    raise _Problem(
                        _entity_error(
                            422,
                            "ATTRIBUTE.INVALID",
                            f"{pointer}/{i}",
                            f"{item!r} is not a WebhookEventType",
                        )
                    )


def _entity_error(status: int, sub_code: str, pointer: str, problem: str) -> Response:
    """A 409/422 ``ENTITY_ERROR.<sub_code>`` about the member at ``pointer``."""
    return _error(
        status,
        code=f"ENTITY_ERROR.{sub_code}",
        detail=f"{pointer.rsplit('/', 1)[-1] or 'body'} {problem}",
        source={"pointer": pointer},
    )


def _parameter_error(name: str, detail: str) -> Response:
    return _error(400, detail=detail, source={"parameter": name})


def _not_found(type_: str, id_: str) -> Response:
    return _error(404, detail=f"There is no resource of type '{type_}' with id '{id_}'")


def apple_error(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Apple's error document for ``status`` (defaults per status, e.g. 404 NOT_FOUND)."""
    phrase = HTTPStatus(status).phrase
    default = _ERRORS.get(status, (HTTPStatus(status).name, phrase, phrase + "."))
    entry: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": str(status),
        "code": code or default[0],
        "title": title or default[1],
        "detail": detail or default[2],
    }
    if source:
        entry["source"] = dict(source)
    return {"errors": [entry]}


def _error(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    source: Mapping[str, str] | None = None,
) -> Response:
    return _response(
        status, apple_error(status, code=code, title=title, detail=detail, source=source)
    )


def _response(status: int, body: Any = None) -> Response:
    if body is None and status >= 400:
        body = apple_error(status)
    if isinstance(body, dict | list):
        return Response(json.dumps(body), status, content_type="application/json")
    return Response(body or b"", status)


# fixtures ------------------------------------------------------------------------------------


@pytest.fixture(name="asc_key", scope="session")
def asc_key_fixture() -> AscKey:
    """A fresh App Store Connect key (EC P-256), shared by the session's tests."""
    return generate_asc_key()


@pytest.fixture(name="fake_asc")
def fake_asc_fixture(asc_key: AscKey) -> Iterator[FakeAppStoreConnect]:
    """A started :class:`FakeAppStoreConnect` accepting tokens signed with ``asc_key``;
    fails the test if a handler crashed."""
    with FakeAppStoreConnect(asc_key) as fake:
        yield fake
    fake.check()
