"""What GitHub answered to one dispatch: a result, or an error that says whether a retry helps.

Error handling follows GitHub's documented answers:
https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from bridge.delivery.backoff import retry_after_header
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.errors import PermanentSendError, SendError, TransientSendError

MAX_MESSAGE = 500
# "Otherwise, wait for at least one minute before retrying" (rate-limits doc, secondary limits).
RATE_LIMIT_FALLBACK_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class DispatchResult:
    status: int  # 204, or 200 when GitHub returned run details
    run_id: int | None = None  # workflow_run_id
    run_url: str | None = None  # html_url of the run (for humans)
    response: str = ""  # short text of GitHub's answer, for the delivery log
    # When the token that sent it expires (epoch seconds), when GitHub says so.
    token_expires_at: float | None = None


class GitHubError(SendError):
    """A dispatch failed. ``status`` is GitHub's HTTP status, None when there was no answer."""


class TransientGitHubError(TransientSendError, GitHubError):
    """Worth retrying: network trouble, 5xx, rate limits. ``retry_after``: seconds from now
    that GitHub asked us to wait, None when it did not say."""


class PermanentGitHubError(PermanentSendError, GitHubError):
    """Retrying cannot help: bad credentials, missing permission, unknown repository or
    workflow, invalid body."""


def http_error(
    what: str,
    status: int,
    headers: Mapping[str, str],
    data: Any,
    *,
    hints: Mapping[int, str],
    redact: Callable[[str], str],
) -> GitHubError:
    """Classify an HTTP error answer; ``redact`` cleans the message of credentials."""
    headers = {k.lower(): v for k, v in headers.items()}
    gh_message = ""
    if isinstance(data, dict):
        gh_message = str(data.get("message") or "")
        if status == 422 and data.get("errors"):
            gh_message += f" (errors: {json.dumps(data['errors'])})"
    elif data:
        gh_message = " ".join(str(data).split())  # an HTML error page from a proxy
    message = f"{what} failed: HTTP {status}"
    if gh_message:
        message += f": {gh_message}"
    rate_limited = status == 429 or (status == 403 and _rate_limited(headers, gh_message))
    if rate_limited or status >= 500 or status == 408:
        retry_after = _retry_after(headers)
        if retry_after is None and rate_limited:
            retry_after = RATE_LIMIT_FALLBACK_WAIT
        if request_id := headers.get("x-github-request-id"):
            message += f" [request id {request_id}]"
        return TransientGitHubError(redact(message), status=status, retry_after=retry_after)
    hint = hints.get(status)
    if 300 <= status < 400:
        hint = f"unexpected redirect to {headers.get('location', '?')} (moved repository?)"
    if hint:
        message += f" — {hint}"
    return PermanentGitHubError(redact(message), status=status)


APP_HINTS = {
    401: "GitHub rejected the App's JWT: check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY "
    "and the server clock",
    403: "the App installation is suspended or lacks permission",
    404: "installation not found: check GITHUB_APP_INSTALLATION_ID and that the App is installed",
}


def dispatch_hints(request: DispatchRequest, *, app: bool) -> dict[int, str]:
    if request.kind == "repository_dispatch":
        permission = "Contents: write (classic token: repo scope)"
        missing = f"repository {request.repository} not found, or the token cannot see it"
    else:
        permission = "Actions: write (classic token: repo scope)"
        missing = (
            f"repository {request.repository} or workflow {request.workflow} not found "
            "(it must be on the default branch), or the token cannot see it"
        )
    return {
        401: "GitHub rejected the credentials: "
        + ("check the GitHub App settings" if app else "check GITHUB_TOKEN (expired or revoked?)"),
        403: f"the token lacks permission: {request.kind} needs {permission}",
        404: missing,
    }


def _rate_limited(headers: Mapping[str, str], gh_message: str) -> bool:
    lowered = gh_message.lower()
    return (
        "retry-after" in headers
        or headers.get("x-ratelimit-remaining") == "0"
        or "rate limit" in lowered
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or HTTP-date), else the primary rate-limit
    reset when the limit is exhausted. ``X-RateLimit-Reset`` alone means nothing: GitHub sends
    it on every response."""
    found = retry_after_header(headers)
    if found is not None:
        return found
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "")) - time.time())
        except ValueError:
            return None
    return None


def parse_body(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return text.strip()


# https://docs.github.com/en/rest/authentication/authenticating-to-the-rest-api: requests made
# with a token that expires answer with its expiry, e.g. "2026-08-26 09:01:00 UTC".
TOKEN_EXPIRATION_HEADER = "github-authentication-token-expiration"  # noqa: S105 (a header name)


def token_expiration(headers: Mapping[str, Any] | None) -> float | None:
    """The token's expiry from GitHub's answer headers (any case), as epoch seconds; None when
    absent or unreadable."""
    for name, value in (headers or {}).items():
        if name.lower() == TOKEN_EXPIRATION_HEADER and isinstance(value, str):
            text = value.strip().replace(" UTC", " +0000")
            for form in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S"):
                try:
                    parsed = datetime.strptime(text, form)
                except ValueError:
                    continue
                return parsed.replace(tzinfo=parsed.tzinfo or UTC).timestamp()
    return None


def dispatch_result(
    status: int, text: str, headers: Mapping[str, Any] | None = None
) -> DispatchResult:
    data = parse_body(text)
    run_id = run_url = None
    if isinstance(data, dict):
        raw_id = data.get("workflow_run_id")
        run_id = raw_id if isinstance(raw_id, int) else None
        html_url = data.get("html_url")
        run_url = html_url if isinstance(html_url, str) else None
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    response = f"{status} {reason}".strip()
    if text.strip():
        response += f": {text.strip()}"
    return DispatchResult(status, run_id, run_url, truncate(response), token_expiration(headers))


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
