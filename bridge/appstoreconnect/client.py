"""The App Store Connect API client: ES256 team-key tokens and JSON:API requests.

Token (docs/protocols.md, "App Store Connect API token",
https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests):
header ``alg: ES256, kid, typ: JWT``; claims ``iss`` (issuer id), ``iat``, ``exp`` (at most
20 minutes later), ``aud: appstoreconnect-v1``. One token is signed and reused by every thread
until shortly before it expires.

Requests go only to ``ASC_API_URL``: paths are built from a resource's type and id
(:func:`~bridge.appstoreconnect.jsonapi.resource_path`), redirects are not followed, and a
pagination link pointing anywhere else is refused, so the bearer token never reaches a host
named by a webhook payload.

Every failure raises an :class:`~bridge.appstoreconnect.errors.AscError` subclass (which one,
and why: :mod:`bridge.appstoreconnect.errors`); a missing or malformed key is a ConfigError.
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
from urllib.parse import urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bridge.appstoreconnect.errors import AscRequestError, AscTransientError, answer_error
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.version import __version__

log = logging.getLogger(__name__)

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 19 * 60  # Apple rejects more than 20 minutes; a minute spare for clock skew
TOKEN_REFRESH = 4 * 60  # sign a new token when the current one has less than this left
_RATE_LIMIT = re.compile(r"user-hour-rem:(\d+)")


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
            raise answer_error(where, response)
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


def _load_key(pem: str, variable: str) -> EllipticCurvePrivateKey:
    message = f"{variable} is not an App Store Connect key (an EC P-256 .p8 private key)"
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(message) from None
    if not isinstance(key, EllipticCurvePrivateKey) or not isinstance(key.curve, SECP256R1):
        raise ConfigError(message)
    return key
