"""Which PyGithub session sends a repository's dispatch: the one of a personal access token,
or, for a GitHub App, the one of the installation that covers the repository.

An App signs an RS256 JWT with its private key, parsed once here
(https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app);
PyGithub exchanges it for an installation token and renews that (docs/protocols.md,
"PyGithub"). Without ``GITHUB_APP_INSTALLATION_ID``, a repository's installation is looked up
(``GET /repos/{owner}/{repo}/installation``,
https://docs.github.com/en/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app)
and cached; an installation GitHub then refuses is forgotten, so a replay looks it up again.

Raises :class:`ConfigError` for missing or malformed credentials (never echoing them), and a
:class:`~bridge.delivery.github_answers.GitHubError` when GitHub refuses the lookup. A lookup
that gets no answer raises the network error as it is: ``bridge.delivery.github`` classifies
those, like its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from github import Auth, Github, GithubException, GithubIntegration

from bridge.delivery.github_answers import APP_HINTS, GitHubError, http_error, truncate
from bridge.errors import ConfigError


@dataclass(slots=True)
class Session:
    """One PyGithub client, sending one request at a time."""

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


def lookup_what(repository: str) -> str:
    """How messages name the installation lookup for ``repository``."""
    return f"GitHub App installation lookup for {repository}"


class GitHubAuth:
    """The credentials, and the :class:`Session` for each repository. Safe to call from
    several threads. ``options``: PyGithub's keyword arguments for every client it makes."""

    def __init__(
        self,
        *,
        token: str | None,
        app_id: str | None,
        app_private_key: str | None,
        installation_id: int | None,
        options: Mapping[str, Any],
    ) -> None:
        self._options = dict(options)
        self._token = token.strip() if token else None
        self._target: Session | _AppLookup
        self._sessions: dict[int, Session] = {}
        self._installation_of: dict[str, int] = {}
        self._lock = threading.Lock()  # guards the two dicts above
        self._lookup_lock = threading.Lock()  # one installation lookup at a time
        self._app_auth: Auth.AppAuth | None = None  # a fixed installation's App, for renew()

        if self._token and (app_id or app_private_key):
            raise ConfigError("set either GITHUB_TOKEN or the GITHUB_APP_* variables, not both")
        if self._token:
            if installation_id is not None:
                raise ConfigError("GITHUB_APP_INSTALLATION_ID needs GITHUB_APP_ID, not a token")
            self._target = Session(self._github(Auth.Token(self._token)))
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
            self._app_auth = app_auth
            auth = app_auth.get_installation_auth(installation_id)
            self._target = Session(self._github(auth), installation_id)
            return
        integration = GithubIntegration(auth=app_auth, **self._options)
        self._target = _AppLookup(app_auth, integration)

    def _github(self, auth: Auth.Auth) -> Github:
        return Github(auth=auth, **self._options)

    @property
    def app(self) -> bool:
        """Dispatches go out as a GitHub App (else with a token)."""
        return self._token is None

    def redact(self, message: str) -> str:
        """``message`` without the token, shortened to what the delivery log keeps."""
        if self._token:
            message = message.replace(self._token, "***")
        return truncate(message)

    def session_for(self, repository: str) -> Session:
        target = self._target
        if isinstance(target, Session):
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
                session = Session(self._github(auth), installation)
                self._sessions[installation] = session
        return session

    def _lookup_installation(self, integration: GithubIntegration, repository: str) -> int:
        owner, _, name = repository.partition("/")
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
                    lookup_what(repository),
                    exc.status,
                    exc.headers or {},
                    exc.data,
                    hints=hints,
                    redact=self.redact,
                )
                raise error from exc

    def renew(self, repository: str) -> Session:
        """A new session for ``repository`` whose App installation token is minted anew (a
        GitHub App only): for one retry when GitHub refused a token minted a moment ago."""
        target = self._target
        if isinstance(target, Session):
            if target.installation is None or self._app_auth is None:  # a token: no minting
                return target
            auth = self._app_auth.get_installation_auth(target.installation)
            renewed = Session(self._github(auth), target.installation)
            with target.lock:
                target.github.close()
            self._target = renewed
            return renewed
        with self._lock:
            installation = self._installation_of.get(repository)
            old = self._sessions.pop(installation, None) if installation is not None else None
        if old is not None:
            with old.lock:
                old.github.close()
        return self.session_for(repository)

    def forget(self, repository: str, error: GitHubError) -> None:
        """Drop a looked-up installation that GitHub refused, so a replay looks it up again
        (the App may have been reinstalled under a new installation id)."""
        if isinstance(self._target, _AppLookup) and error.status in (401, 403, 404):
            with self._lock:
                self._installation_of.pop(repository, None)

    def close(self) -> None:
        """Close pooled connections. Sessions may still be used afterwards (reconnects)."""
        with self._lock:
            sessions = list(self._sessions.values())
        if isinstance(self._target, Session):
            sessions.append(self._target)
        else:
            with self._lookup_lock:
                self._target.integration.close()
        for session in sessions:
            with session.lock:
                session.github.close()


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
