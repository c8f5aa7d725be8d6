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
How GitHub's answers are classified: ``bridge.delivery.github_answers``.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import jwt
import requests
import urllib3
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, Github, GithubException, GithubIntegration

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
    truncate,
)
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


@dataclass(slots=True)
class _Session:
    # One request at a time per client: PyGithub's requests shim stores the request on a shared
    # connection object (request()) and sends it later (getresponse()), which races between
    # threads; GitHub also asks for serial requests per client ("Avoid concurrent requests",
    # https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
    github: Github
    installation: int | None = None  # for messages; None with a token
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class _AppLookup:
    """GitHub App without a fixed installation: one session per installation, found per repo."""

    app_auth: Auth.AppAuth
    integration: GithubIntegration


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
        self._token = token.strip() if token else None
        self._target: _Session | _AppLookup
        self._sessions: dict[int, _Session] = {}
        self._installation_of: dict[str, int] = {}
        self._lock = threading.Lock()  # guards the two dicts above
        self._lookup_lock = threading.Lock()  # one installation lookup at a time
        self._no_run_details = False  # set once the server refused return_run_details

        if self._token and (app_id or app_private_key):
            raise ConfigError("set either GITHUB_TOKEN or the GITHUB_APP_* variables, not both")
        if self._token:
            if installation_id is not None:
                raise ConfigError("GITHUB_APP_INSTALLATION_ID needs GITHUB_APP_ID, not a token")
            self._target = _Session(self._github(Auth.Token(self._token)))
            return
        if not app_id or not app_private_key:
            missing = "GITHUB_APP_PRIVATE_KEY" if app_id else "GITHUB_APP_ID"
            if not app_id and not app_private_key:
                missing = "GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)"
            raise ConfigError(f"GitHub credentials missing: set {missing}")
        # Sign with the parsed key: PyGithub would re-parse the PEM for every JWT (~0.1 s).
        app_auth = Auth.AppAuth(
            app_id.strip(), sign_func=_signer(_load_private_key(app_private_key))
        )
        if installation_id is not None:
            if installation_id <= 0:
                raise ConfigError(f"GITHUB_APP_INSTALLATION_ID={installation_id} is not valid")
            auth = app_auth.get_installation_auth(installation_id)
            self._target = _Session(self._github(auth), installation_id)
            return
        integration = GithubIntegration(auth=app_auth, **self._pygithub_options())
        self._target = _AppLookup(app_auth, integration)

    def _github(self, auth: Auth.Auth) -> Github:
        return Github(auth=auth, **self._pygithub_options())

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

    def dispatch(self, request: DispatchRequest) -> DispatchResult:
        """POST ``request.body`` to ``request.path`` once.

        Raises TransientGitHubError or PermanentGitHubError.
        """
        what = (
            f"repository_dispatch to {request.repository}"
            if request.kind == "repository_dispatch"
            else f"workflow_dispatch of {request.workflow} in {request.repository}"
        )
        session = self._session_for(request.repository)
        body = request.body
        if self._no_run_details and RUN_DETAILS in body:
            body = {k: v for k, v in body.items() if k != RUN_DETAILS}
        status, headers, text = self._post(session, request, body, what)
        if RUN_DETAILS in body and _refuses_run_details(status, text):
            # GitHub Enterprise Server up to 3.20 rejects the field (docs/protocols.md,
            # "workflow_dispatch"): it validated the body and started nothing, so send once
            # more without it, and never again to this server.
            self._no_run_details = True
            body = {k: v for k, v in body.items() if k != RUN_DETAILS}
            status, headers, text = self._post(session, request, body, what)
        if 200 <= status < 300:
            return dispatch_result(status, text)
        error = http_error(
            what,
            status,
            headers,
            parse_body(text),
            hints=dispatch_hints(request, app=self._token is None),
            redact=self._redact,
        )
        self._forget(request.repository, error)
        raise error

    def _post(
        self, session: _Session, request: DispatchRequest, body: dict[str, Any], what: str
    ) -> tuple[int, dict[str, Any], str]:
        try:
            with session.lock:
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
                redact=self._redact,
            )
            self._forget(request.repository, error)
            raise error from exc
        except _NETWORK_ERRORS as exc:
            raise self._network_error(what, exc) from exc
        except requests.exceptions.RequestException as exc:  # InvalidURL, TooManyRedirects…
            message = self._redact(f"{what} failed: {type(exc).__name__}: {exc}")
            raise PermanentGitHubError(message) from exc
        except RuntimeError as exc:  # PyGithub refusing a 301 to another host or scheme
            message = self._redact(f"{what} failed: {exc} (GITHUB_API_URL moved?)")
            raise PermanentGitHubError(message) from exc

    def _session_for(self, repository: str) -> _Session:
        target = self._target
        if isinstance(target, _Session):
            return target
        with self._lock:
            installation = self._installation_of.get(repository)
        if installation is None:
            installation = self._lookup_installation(target.integration, repository)
        with self._lock:
            self._installation_of[repository] = installation
            session = self._sessions.get(installation)
            if session is None:
                auth = target.app_auth.get_installation_auth(installation)
                session = _Session(self._github(auth), installation)
                self._sessions[installation] = session
        return session

    def _lookup_installation(self, integration: GithubIntegration, repository: str) -> int:
        owner, _, name = repository.partition("/")
        what = f"GitHub App installation lookup for {repository}"
        with self._lookup_lock:
            with self._lock:
                cached = self._installation_of.get(repository)
            if cached is not None:
                return cached
            try:
                return int(integration.get_repo_installation(owner, name).id)
            except GithubException as exc:
                hints = {**APP_HINTS, 404: f"the App is not installed on {repository}"}
                error = http_error(
                    what, exc.status, exc.headers or {}, exc.data, hints=hints, redact=self._redact
                )
                raise error from exc
            except _NETWORK_ERRORS as exc:
                raise self._network_error(what, exc) from exc

    def _forget(self, repository: str, error: GitHubError) -> None:
        """Drop a looked-up installation that GitHub refused, so a replay looks it up again
        (the App may have been reinstalled under a new installation id)."""
        if isinstance(self._target, _AppLookup) and error.status in (401, 403, 404):
            with self._lock:
                self._installation_of.pop(repository, None)

    def _network_error(self, what: str, exc: BaseException) -> TransientGitHubError:
        if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
            detail = f"no answer within {self._timeout}s (GitHub may still have received it): {exc}"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        return TransientGitHubError(self._redact(f"{what} failed: {detail}"))

    def _redact(self, message: str) -> str:
        if self._token:
            message = message.replace(self._token, "***")
        return truncate(message)

    def close(self) -> None:
        """Close pooled connections. The client may still be used afterwards (reconnects)."""
        with self._lock:
            sessions = list(self._sessions.values())
        if isinstance(self._target, _Session):
            sessions.append(self._target)
        else:
            with self._lookup_lock:
                self._target.integration.close()
        for session in sessions:
            with session.lock:
                session.github.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _load_private_key(key: str) -> RSAPrivateKey:
    """Accept keys pasted into env vars with literal ``\\n`` and surrounding quotes/space;
    reject anything that is not an unencrypted RSA PEM private key (GitHub Apps sign RS256)."""
    pem = key.strip().strip("'\"").replace("\\r", "").replace("\\n", "\n").strip() + "\n"
    try:
        parsed = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        parsed = None
    if not isinstance(parsed, RSAPrivateKey):
        raise ConfigError(
            "GITHUB_APP_PRIVATE_KEY is not a valid unencrypted RSA private key in PEM format "
            "(-----BEGIN RSA PRIVATE KEY----- …, as downloaded from the App settings)"
        )
    return parsed


def _signer(key: RSAPrivateKey) -> Callable[[dict[str, Any]], str]:
    def sign(payload: dict[str, Any]) -> str:
        return jwt.encode(payload, key, algorithm="RS256")

    return sign


def _refuses_run_details(status: int, text: str) -> bool:
    return status in (400, 422) and RUN_DETAILS in text
