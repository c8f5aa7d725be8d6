"""Send one dispatch to GitHub, exactly once, and say whether a retry could help.

The outbox (``dispatcher``) owns retries and backoff, so PyGithub is configured to neither
retry (its default ``GithubRetry`` retries up to 10 times) nor throttle writes (1 s between
writes by default). Every failure becomes a :class:`TransientGitHubError` (try again later,
after ``retry_after`` when GitHub said so) or a :class:`PermanentGitHubError` (fix the
configuration or the route; retrying cannot help).

Delivery is at-least-once: after a timeout GitHub may have received the dispatch anyway.

Endpoints (``DispatchRequest.path``):
https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
Credentials and the session each repository's dispatches go through (a token, or a GitHub
App's installations): ``bridge.delivery.github_auth``. How GitHub's answers are classified:
``bridge.delivery.github_answers``.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
from collections.abc import Callable
from types import TracebackType
from typing import Any

import requests
import urllib3
from github import GithubException

from bridge.config import Settings
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github_answers import (
    APP_HINTS,
    DispatchResult,
    GitHubError,
    PermanentGitHubError,
    TransientGitHubError,
    dispatch_hints,
    dispatch_result,
    http_error,
    parse_body,
)
from bridge.delivery.github_auth import GitHubAuth, Session, lookup_what
from bridge.errors import ConfigError
from bridge.version import __version__

__all__ = [
    "API_VERSION",
    "DispatchResult",
    "GitHubClient",
    "GitHubError",
    "PermanentGitHubError",
    "TransientGitHubError",
]

# Sent as X-GitHub-Api-Version; requests without it get this version anyway
# (docs/protocols.md, "API version").
log = logging.getLogger(__name__)
API_VERSION = "2022-11-28"
# workflow_dispatch body field asking for the run's id and URL (GitHub changelog 2026-02-19).
RUN_DETAILS = "return_run_details"

_NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,  # includes ConnectTimeout, SSLError, ProxyError
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    json.JSONDecodeError,  # PyGithub parsing a truncated/garbled body during token exchange
)


def _user_agent() -> str:
    return f"bridge/{__version__}"  # also when running from a checkout (Heroku, Render)


class GitHubClient:
    """Dispatches through PyGithub with a PAT or a GitHub App installation token.

    With an App and no ``installation_id`` the installation is looked up per repository
    (``GET /repos/{owner}/{repo}/installation``) and cached. Safe to call from several threads.
    Raises :class:`ConfigError` for missing or malformed credentials (never echoing them).
    """

    def __init__(
        self,
        *,
        api_url: str = "https://api.github.com",
        token: str | None = None,
        app_id: str | None = None,
        app_private_key: str | None = None,
        installation_id: int | None = None,
        timeout: float = 10.0,
    ) -> None:
        parts = urllib.parse.urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"GITHUB_API_URL={api_url!r} is not an http(s) URL")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ConfigError(f"GitHub timeout must be positive, not {timeout!r}")
        self._api_url = api_url.rstrip("/")
        # Github() and GithubIntegration() assert an int timeout: round up, never down.
        self._timeout = math.ceil(timeout)
        self._no_run_details = False  # set once the server refused return_run_details
        self._auth = GitHubAuth(
            token=token,
            app_id=app_id,
            app_private_key=app_private_key,
            installation_id=installation_id,
            options=self._pygithub_options(),
        )

    def _pygithub_options(self) -> dict[str, Any]:
        return {
            "base_url": self._api_url,
            "timeout": self._timeout,
            "user_agent": _user_agent(),
            "retry": None,  # the outbox owns retries
            # None disables both throttles (Requester.__deferRequest: "if seconds_between_…").
            "seconds_between_requests": None,
            "seconds_between_writes": None,
            "lazy": True,
            "api_version": API_VERSION,
        }

    @classmethod
    def from_settings(
        cls, settings: Settings, *, dispatches: bool, routes: str
    ) -> GitHubClient | None:
        """The client for the configured credentials; None in dry-run mode, or when no route
        of ``routes`` (the file's path, for messages) dispatches to GitHub. Raises
        ConfigError when routes dispatch but no credentials (or half a GitHub App) are set:
        fail at start, not at the first event."""
        if settings.dry_run:
            return None
        if not settings.github_configured:
            if not dispatches:
                return None
            app_id, app_key = settings.github_app_id, settings.github_app_private_key
            if bool(app_id) != bool(app_key):  # half a GitHub App
                given, missing = (
                    ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY")
                    if app_id
                    else ("GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_ID")
                )
                raise ConfigError(
                    f"{given} is set but {missing} is not: a GitHub App needs both (or use "
                    "GITHUB_TOKEN instead)"
                )
            raise ConfigError(
                f"{routes} dispatches to GitHub but no credentials are set: set "
                "GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY; or BRIDGE_DRY_RUN=1 "
                "to record would-be requests without sending them"
            )
        return cls(
            api_url=settings.github_api_url,
            token=settings.github_token,
            app_id=settings.github_app_id,
            app_private_key=settings.github_app_private_key,
            installation_id=settings.github_app_installation_id,
            timeout=settings.github_timeout,
        )

    def dispatch(
        self, request: DispatchRequest, *, before_send: Callable[[], None] | None = None
    ) -> DispatchResult:
        """POST ``request.body`` to ``request.path`` once; ``before_send`` runs right before,
        inside the credential's one-request-at-a-time lock (it may raise to send nothing).

        Raises TransientGitHubError or PermanentGitHubError.
        """
        what = (
            f"repository_dispatch to {request.repository}"
            if request.kind == "repository_dispatch"
            else f"workflow_dispatch of {request.workflow} in {request.repository}"
        )
        body = request.body
        if self._no_run_details and RUN_DETAILS in body:
            body = {k: v for k, v in body.items() if k != RUN_DETAILS}
        session, (status, headers, text) = self._post_minting_once(request, body, what, before_send)
        if RUN_DETAILS in body and _refuses_run_details(status, text):
            # GitHub Enterprise Server up to 3.20 rejects the field (docs/protocols.md,
            # "workflow_dispatch"): it validated the body and started nothing, so send once
            # more without it, and never again to this server.
            self._no_run_details = True
            body = {k: v for k, v in body.items() if k != RUN_DETAILS}
            status, headers, text = self._post(session, request, body, what, before_send)
        if 200 <= status < 300:
            return dispatch_result(status, text, headers)
        error = http_error(
            what,
            status,
            headers,
            parse_body(text),
            hints=dispatch_hints(request, app=self._auth.app),
            redact=self._auth.redact,
        )
        self._auth.forget(request.repository, error)
        raise error

    def _post_minting_once(
        self,
        request: DispatchRequest,
        body: dict[str, Any],
        what: str,
        before_send: Callable[[], None] | None,
    ) -> tuple[Session, tuple[int, dict[str, Any], str]]:
        """Post once; as a GitHub App, once more with a newly minted installation token when
        GitHub refuses the token (or the JWT exchanged for it) with 401. A token minted a
        moment ago can be refused for a clock a little ahead of GitHub's or a token not yet
        known everywhere; a second refusal is final."""
        session = self._session_for(request.repository)
        try:
            answer = self._post(session, request, body, what, before_send)
            if not (self._auth.app and answer[0] == 401):
                return session, answer
        except GitHubError as exc:
            if not (self._auth.app and exc.status == 401):
                raise
        log.warning("GitHub refused the App's new token (401): minting another, once")
        session = self._auth.renew(request.repository)
        return session, self._post(session, request, body, what, before_send)

    def _post(
        self,
        session: Session,
        request: DispatchRequest,
        body: dict[str, Any],
        what: str,
        before_send: Callable[[], None] | None = None,
    ) -> tuple[int, dict[str, Any], str]:
        try:
            with session.lock:
                if before_send is not None:
                    before_send()
                return session.github.requester.requestJson("POST", request.path, input=body)
        except GithubException as exc:
            # requestJson never raises for a status: this is AppInstallationAuth exchanging
            # its JWT for an installation token.
            error = http_error(
                f"installation token exchange for installation {session.installation}",
                exc.status,
                exc.headers or {},
                exc.data,
                hints=APP_HINTS,
                redact=self._auth.redact,
            )
            self._auth.forget(request.repository, error)
            raise error from exc
        except _NETWORK_ERRORS as exc:
            raise self._network_error(what, exc) from exc
        except requests.exceptions.RequestException as exc:  # InvalidURL, TooManyRedirects…
            message = self._auth.redact(f"{what} failed: {type(exc).__name__}: {exc}")
            raise PermanentGitHubError(message) from exc
        except RuntimeError as exc:  # PyGithub refusing a 301 to another host or scheme
            message = self._auth.redact(f"{what} failed: {exc} (GITHUB_API_URL moved?)")
            raise PermanentGitHubError(message) from exc

    def _session_for(self, repository: str) -> Session:
        try:
            return self._auth.session_for(repository)
        except _NETWORK_ERRORS as exc:  # the installation lookup, the only request it makes
            raise self._network_error(lookup_what(repository), exc) from exc

    def _network_error(self, what: str, exc: BaseException) -> TransientGitHubError:
        if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
            detail = f"no answer within {self._timeout}s (GitHub may still have received it): {exc}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return TransientGitHubError(self._auth.redact(f"{what} failed: {detail}"))

    def close(self) -> None:
        """Close pooled connections. The client may still be used afterwards (reconnects)."""
        self._auth.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _refuses_run_details(status: int, text: str) -> bool:
    return status in (400, 422) and RUN_DETAILS in text
