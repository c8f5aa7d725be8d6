"""The App Store Connect API client: ES256 team-key tokens and JSON:API requests.

Token (docs/protocols.md, "App Store Connect API token",
https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests):
header ``alg: ES256, kid, typ: JWT``; claims ``iss`` (issuer id), ``iat``, ``exp`` (at most
20 minutes later), ``aud: appstoreconnect-v1``. One token is signed and reused by every thread
until shortly before it expires.

Requests go only to ``ASC_API_URL``: paths are built from a resource's type and id, redirects
are not followed, and a pagination link pointing anywhere else is refused, so the bearer token
never reaches a host named by a webhook payload.

Every failure is one of: :class:`AscAuthError` (401/403: the key, its role or the issuer id is
wrong), :class:`AscNotFoundError` (404), :class:`AscTransientError` (429, 5xx, timeouts,
network: try again later) or :class:`AscRequestError` (other 4xx: the request itself is wrong).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bridge.config import Settings
from bridge.errors import BridgeError, ConfigError
from bridge.version import __version__

log = logging.getLogger(__name__)

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 19 * 60  # Apple rejects more than 20 minutes; a minute spare for clock skew
TOKEN_REFRESH = 4 * 60  # sign a new token when the current one has less than this left
_TYPE = re.compile(r"^[a-zA-Z]{1,80}\Z")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")  # \Z, not $ (it matches before "\n")
_RATE_LIMIT = re.compile(r"user-hour-rem:(\d+)")


class AscError(BridgeError):
    """App Store Connect refused or failed a request. ``status`` is None without an answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AscAuthError(AscError):
    """401/403: the API key, issuer id or key role is wrong. Fix the configuration."""


class AscNotFoundError(AscError):
    """404: the resource does not exist (deleted, or not visible to this key)."""


class AscRequestError(AscError):
    """Another 4xx: the request is invalid (bad id, conflicting change, …)."""


class AscTransientError(AscError):
    """429, 5xx, a timeout or a network error: the same request may succeed later.
    ``retry_after``: seconds Apple asked to wait, when it said."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


_AUTH_HINT = (
    "check ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY (a team key from Users and Access → "
    "Integrations → App Store Connect API) and the key's role"
)


def attributes(resource: object) -> dict[str, Any]:
    """A JSON:API resource object's ``attributes`` (empty when there are none)."""
    if isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
        return dict(resource["attributes"])
    return {}


def resource_path(type_: str, id_: str, relationship: str | None = None) -> str:
    """``/v1/{type}/{id}[/{relationship}]`` from an event's instance. Raises AscRequestError
    for a type or id that could not be an App Store Connect one (nothing is requested)."""
    if not _TYPE.match(type_):
        raise AscRequestError(f"not an App Store Connect resource type: {type_!r}")
    if relationship is not None and not _TYPE.match(relationship):
        raise AscRequestError(f"not an App Store Connect relationship: {relationship!r}")
    if not _ID.match(id_):
        raise AscRequestError(f"not an App Store Connect resource id: {id_!r}")
    path = f"/v1/{type_}/{quote(id_, safe='')}"
    return f"{path}/{relationship}" if relationship else path


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class AscClient:
    """Thread-safe. ``clock`` is injectable for tests of token reuse."""

    def __init__(
        self,
        *,
        api_url: str,
        key_id: str,
        issuer_id: str,
        private_key: str,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        key_variable: str = "ASC_PRIVATE_KEY",
    ) -> None:
        self.api_url = api_url.rstrip("/")
        parts = urlsplit(self.api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"ASC_API_URL={api_url!r} is not an http(s) URL")
        self._origin = (parts.scheme, parts.netloc)
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            log.warning("ASC_API_URL is not https: the API token would travel unencrypted")
        self.key_id = key_id
        self.issuer_id = issuer_id
        self._key = _load_key(private_key, key_variable)
        self.timeout = timeout
        self.clock = clock
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []  # one per thread that asked; closed by close()
        self.signed_tokens = 0  # how many tokens were signed (reuse is observable)
        self.rate_limit_remaining: int | None = None  # from the last X-Rate-Limit header

    @classmethod
    def from_settings(cls, settings: Settings) -> AscClient:
        """The client for the configured key. Raises ConfigError naming what is missing."""
        key_id, issuer_id = settings.asc_key_id, settings.asc_issuer_id
        key = settings.asc_private_key
        if not (key_id and issuer_id and key):
            missing = settings.asc_missing_text
            raise ConfigError(f"the App Store Connect API key is not configured: set {missing}")
        return cls(
            api_url=settings.asc_api_url,
            key_id=key_id,
            issuer_id=issuer_id,
            private_key=key,
            timeout=settings.asc_timeout,
            key_variable=settings.asc_private_key_variable,
        )

    # -- token ------------------------------------------------------------------------------

    def token(self) -> str:
        """A valid bearer token: the current one, or a new one when it is about to expire."""
        now = self.clock()
        with self._token_lock:
            if self._token is None or self._token.expires_at - now < TOKEN_REFRESH:
                issued = int(now)
                claims = {
                    "iss": self.issuer_id,
                    "iat": issued,
                    "exp": issued + TOKEN_LIFETIME,
                    "aud": AUDIENCE,
                }
                headers = {"kid": self.key_id, "typ": "JWT"}
                value = jwt.encode(claims, self._key, algorithm="ES256", headers=headers)
                self._token = _Token(value, issued + TOKEN_LIFETIME)
                self.signed_tokens += 1
            return self._token.value

    # -- requests ---------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return self._request("GET", self.api_url + path, params=params)

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("POST", self.api_url + path, body=body)

    def patch(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._request("PATCH", self.api_url + path, body=body)

    def delete(self, path: str) -> None:
        self._request("DELETE", self.api_url + path)

    def pages(
        self, path: str, params: Mapping[str, str | int] | None = None, *, max_pages: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Each page of a list, following ``links.next`` while it stays on ``ASC_API_URL``."""
        url: str | None = self.api_url + path
        query = params
        for _ in range(max_pages):
            if url is None:
                return
            page = self._request("GET", url, params=query)
            yield page
            links = page.get("links")
            url = links.get("next") if isinstance(links, dict) else None
            query = None  # the next link carries the query (cursor included)
            if url is not None and not self._same_origin(url):
                raise AscRequestError(f"refusing to follow a next link to another host: {url}")

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin and parts.path.startswith(
            urlsplit(self.api_url).path + "/"
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"bridge/{__version__}"
            session.headers["Accept"] = "application/json"
            self._local.session = session
            with self._token_lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close every thread's connections. The client may be used again afterwards."""
        with self._token_lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token()}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        where = f"{method} {urlsplit(url).path}"
        try:
            response = self._session().request(
                method,
                url,
                params=params,
                data=json.dumps(body).encode() if body is not None else None,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect would carry the token elsewhere
            )
        except requests.Timeout:
            raise AscTransientError(f"{where}: no answer within {self.timeout:g} s") from None
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise AscTransientError(
                f"{where}: cannot reach App Store Connect at {self.api_url} ({reason})"
            ) from None
        self._note_rate_limit(response.headers.get("X-Rate-Limit"))
        if response.status_code >= 300:
            raise _error(where, response)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            document = response.json()
        except ValueError:
            raise AscTransientError(f"{where}: the answer is not JSON", status=200) from None
        if not isinstance(document, dict):
            raise AscTransientError(f"{where}: the answer is not a JSON object", status=200)
        return document

    def _note_rate_limit(self, header: str | None) -> None:
        # "user-hour-lim:3600;user-hour-rem:500;" https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits
        found = _RATE_LIMIT.search(header or "")
        if found is None:
            return
        self.rate_limit_remaining = int(found.group(1))
        if self.rate_limit_remaining < 100:
            log.warning(
                "App Store Connect API: %d requests left this hour", self.rate_limit_remaining
            )


def _error(where: str, response: requests.Response) -> AscError:
    status = response.status_code
    text = f"{where}: {status} {_apple_error(response)}"
    if status in (401, 403):
        return AscAuthError(f"{text} — {_AUTH_HINT}", status=status)
    if status == 404:
        return AscNotFoundError(text, status=status)
    if status == 429 or status >= 500:
        return AscTransientError(text, status=status, retry_after=_retry_after(response))
    if 300 <= status < 400:
        return AscRequestError(f"{where}: {status} redirect not followed", status=status)
    return AscRequestError(text, status=status)


def _apple_error(response: requests.Response) -> str:
    """``CODE: title — detail`` of the first entry of Apple's ``errors`` document."""
    try:
        errors = response.json().get("errors")
        first = errors[0]
        parts = [str(first.get(k)) for k in ("code", "title", "detail") if first.get(k)]
        return ": ".join(parts[:2]) + (f" — {parts[2]}" if len(parts) > 2 else "")
    except (ValueError, AttributeError, TypeError, IndexError, KeyError):
        return (response.reason or "").strip() or "(no error document)"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def _load_key(pem: str, variable: str) -> EllipticCurvePrivateKey:
    message = f"{variable} is not an App Store Connect key (an EC P-256 .p8 private key)"
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(message) from None
    if not isinstance(key, EllipticCurvePrivateKey) or not isinstance(key.curve, SECP256R1):
        raise ConfigError(message)
    return key
