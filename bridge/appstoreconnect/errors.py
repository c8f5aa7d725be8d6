"""What a failed App Store Connect API request raises, and which error an HTTP answer is.

Every failure is one of: :class:`AscAuthError` (401/403: the key, its role or the issuer id is
wrong), :class:`AscNotFoundError` (404), :class:`AscTransientError` (429, 5xx, timeouts,
network: try again later, after ``Retry-After`` when Apple sent one) or
:class:`AscRequestError` (other 4xx: the request itself is wrong). The message quotes the
first entry of Apple's error document (``code``, ``title``, ``detail``):
https://developer.apple.com/documentation/appstoreconnectapi/interpreting-and-handling-errors
"""

from __future__ import annotations

import requests

from bridge.errors import BridgeError


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


def answer_error(where: str, response: requests.Response) -> AscError:
    """The error for an answer of status 300 or more; ``where`` is ``METHOD /path``."""
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
    """``Retry-After`` in seconds; None without one, or in another form (an HTTP date)."""
    value = response.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None
