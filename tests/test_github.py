"""bridge.delivery.github against a real HTTP fake of GitHub (tests/fakes/github.py): no mocks."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github import (
    API_VERSION,
    DispatchResult,
    GitHubClient,
    GitHubError,
    PermanentGitHubError,
    TransientGitHubError,
)
from bridge.errors import ConfigError
from tests.fakes.github import FakeGitHub
from tests.support.servers import closed_port_url

TOKEN = "ghp_TESTtoken0123456789abcdefABCDEF0123"
APP_ID = "123456"

REPO = DispatchRequest(
    kind="repository_dispatch",
    repository="acme/ios-app",
    body={"event_type": "asc-build-complete", "client_payload": {"build": "42"}},
)
WORKFLOW = DispatchRequest(
    kind="workflow_dispatch",
    repository="acme/ios-app",
    workflow="release.yml",
    body={"ref": "main", "inputs": {"version": "2.4"}, "return_run_details": True},
)


@pytest.fixture(scope="module")
def app_key() -> tuple[str, bytes]:
    """A fresh RSA key (private PEM, public PEM): generated per run, never committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture
def client_for() -> Iterator[Callable[..., GitHubClient]]:
    clients: list[GitHubClient] = []

    def make(url: str, **kwargs: Any) -> GitHubClient:
        if "app_id" not in kwargs:
            kwargs.setdefault("token", TOKEN)
        client = GitHubClient(api_url=url, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def app_fake(fake_github: FakeGitHub, app_key: tuple[str, bytes]) -> FakeGitHub:
    """The fake, verifying App JWTs against the test key like GitHub does."""
    fake_github.app_id = APP_ID
    fake_github.app_public_key = app_key[1]
    return fake_github


# --- what is sent ---------------------------------------------------------------------------


def test_repository_dispatch_sends_body_once_with_pat(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    result = client_for(fake_github.url).dispatch(REPO)

    assert result == DispatchResult(status=204, response="204 No Content")
    [sent] = fake_github.requests
    assert sent.method == "POST"
    assert sent.path == "/repos/acme/ios-app/dispatches"
    assert sent.json == REPO.body
    assert sent.header("Content-Type") == "application/json"
    assert sent.header("Authorization") == f"token {TOKEN}"
    assert sent.header("X-GitHub-Api-Version") == API_VERSION == "2022-11-28"
    assert (sent.header("User-Agent") or "").startswith("bridge/")


def test_workflow_dispatch_returns_run_details(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    result = client_for(fake_github.url).dispatch(WORKFLOW)

    assert result.status == 200
    assert result.run_id == 1000
    assert result.run_url == "https://github.com/acme/ios-app/actions/runs/1000"
    assert result.response.startswith('200 OK: {"workflow_run_id": 1000')
    [sent] = fake_github.dispatches()
    assert sent.path == "/repos/acme/ios-app/actions/workflows/release.yml/dispatches"
    assert sent.json == WORKFLOW.body


def test_workflow_dispatch_204_has_no_run_details(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.workflow_run_details = False

    result = client_for(fake_github.url).dispatch(WORKFLOW)

    assert result == DispatchResult(status=204, response="204 No Content")


def test_server_refusing_return_run_details_gets_the_dispatch_without_it(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.rejects_run_details = True
    client = client_for(fake_github.url)

    first = client.dispatch(WORKFLOW)
    second = client.dispatch(WORKFLOW)

    assert first == second == DispatchResult(status=204, response="204 No Content")
    bodies = [r.json for r in fake_github.dispatches()]
    without = {"ref": "main", "inputs": {"version": "2.4"}}
    # One refused attempt, its resend, then the client remembers: no second refusal.
    assert bodies == [WORKFLOW.body, without, without]


def test_other_422_on_workflow_dispatch_is_not_resent(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.enqueue(422, body={"message": 'Unexpected inputs provided: ["flavour"]'})

    with pytest.raises(PermanentGitHubError, match="Unexpected inputs"):
        client_for(fake_github.url).dispatch(WORKFLOW)

    assert len(fake_github.dispatches()) == 1


@pytest.mark.parametrize("auth", ["token", "app"])
def test_enterprise_server_base_url_with_path_prefix(
    auth: str, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    with FakeGitHub(prefix="/api/v3") as fake:
        fake.app_public_key = app_key[1]
        creds = {"token": TOKEN} if auth == "token" else {"app_id": APP_ID}
        if auth == "app":
            creds["app_private_key"] = app_key[0]

        client_for(fake.url + "/", **creds).dispatch(REPO)

        paths = [(r.method, r.path) for r in fake.requests]
    expected = [("POST", "/api/v3/repos/acme/ios-app/dispatches")]
    if auth == "app":
        expected = [
            ("GET", "/api/v3/repos/acme/ios-app/installation"),
            ("POST", "/api/v3/app/installations/4242/access_tokens"),
            *expected,
        ]
    assert paths == expected
    fake.check()


# --- GitHub App -----------------------------------------------------------------------------


def test_app_with_installation_id_exchanges_a_verified_jwt(
    app_fake: FakeGitHub, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=app_key[0], installation_id=77)

    client.dispatch(REPO)
    client.dispatch(WORKFLOW)

    [exchange] = app_fake.token_exchanges()  # the installation token is reused
    assert exchange.path == "/app/installations/77/access_tokens"
    scheme, token = exchange.credential
    assert scheme == "Bearer"
    claims = jwt.decode(token, app_key[1], algorithms=["RS256"])
    assert claims["iss"] == APP_ID
    assert 0 < claims["exp"] - claims["iat"] <= 600  # GitHub caps App JWTs at 10 minutes
    [installation_token] = app_fake.issued_tokens
    assert app_fake.issued_tokens[installation_token] == 77
    assert [d.credential for d in app_fake.dispatches()] == [("token", installation_token)] * 2
    assert app_fake.installation_lookups() == []


def test_private_key_with_literal_backslash_n_is_normalized(
    app_fake: FakeGitHub, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    pasted = '"' + app_key[0].strip().replace("\n", "\\n") + '"'  # as pasted into Heroku/Render

    client_for(app_fake.url, app_id=APP_ID, app_private_key=pasted, installation_id=1).dispatch(
        REPO
    )

    assert len(app_fake.dispatches()) == 1


def test_app_installation_lookup_is_cached_per_repository(
    app_fake: FakeGitHub, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    app_fake.installations = {"acme/ios-app": 7, "acme/android": 8}
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=app_key[0])
    android = DispatchRequest("repository_dispatch", "acme/android", {"event_type": "x"})

    client.dispatch(REPO)
    client.dispatch(REPO)
    client.dispatch(android)

    assert [r.path for r in app_fake.installation_lookups()] == [
        "/repos/acme/ios-app/installation",
        "/repos/acme/android/installation",
    ]
    assert [r.path for r in app_fake.token_exchanges()] == [
        "/app/installations/7/access_tokens",
        "/app/installations/8/access_tokens",
    ]
    used = [app_fake.issued_tokens[d.credential[1]] for d in app_fake.dispatches()]
    assert used == [7, 7, 8]


def test_concurrent_dispatches_share_lookups_and_tokens(
    app_fake: FakeGitHub, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    app_fake.installations = {"acme/ios-app": 7, "acme/android": 8}
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=app_key[0])
    android = DispatchRequest("repository_dispatch", "acme/android", {"event_type": "x"})
    requests = [REPO, android] * 8
    results: list[object] = [None] * len(requests)
    start = threading.Barrier(len(requests))

    def send(i: int) -> None:
        start.wait()
        try:
            results[i] = client.dispatch(requests[i])
        except GitHubError as exc:  # pragma: no cover - reported by the assert below
            results[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert all(isinstance(r, DispatchResult) and r.status == 204 for r in results), results
    assert len(app_fake.installation_lookups()) == 2
    assert len(app_fake.token_exchanges()) == 2
    by_repo = {
        (d.path.split("/")[3], app_fake.issued_tokens[d.credential[1]])
        for d in app_fake.dispatches()
    }
    assert by_repo == {("ios-app", 7), ("android", 8)}


def test_app_not_installed_is_permanent_and_not_cached(
    app_fake: FakeGitHub, app_key: tuple[str, bytes], client_for: Callable[..., GitHubClient]
) -> None:
    app_fake.installations = {"acme/ios-app": None}
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=app_key[0])

    with pytest.raises(PermanentGitHubError) as caught:
        client.dispatch(REPO)
    assert caught.value.status == 404
    assert "not installed on acme/ios-app" in caught.value.message

    app_fake.installations = {"acme/ios-app": 9}  # installed meanwhile
    client.dispatch(REPO)
    assert len(app_fake.installation_lookups()) == 2
    assert len(app_fake.dispatches()) == 1


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (500, TransientGitHubError, "installation token exchange for installation 77"),
        (401, PermanentGitHubError, "GITHUB_APP_PRIVATE_KEY and the server clock"),
        (404, PermanentGitHubError, "check GITHUB_APP_INSTALLATION_ID"),
    ],
)
def test_token_exchange_errors_are_classified(
    status: int,
    error: type[GitHubError],
    text: str,
    app_fake: FakeGitHub,
    app_key: tuple[str, bytes],
    client_for: Callable[..., GitHubClient],
) -> None:
    # A 401 is tried once more with a newly minted token: refuse both to make it final.
    app_fake.enqueue(status, match="access_tokens$", times=2 if status == 401 else 1)
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=app_key[0], installation_id=77)

    with pytest.raises(error) as caught:
        client.dispatch(REPO)

    assert type(caught.value) is error
    assert caught.value.status == status
    assert text in caught.value.message
    assert app_fake.dispatches() == []


@pytest.mark.parametrize("installation_id", [77, None])
@pytest.mark.parametrize("refused", ["access_tokens$", "/dispatches$"])
def test_a_new_app_token_refused_once_is_minted_again_and_sent(
    refused: str,
    installation_id: int | None,
    app_fake: FakeGitHub,
    app_key: tuple[str, bytes],
    client_for: Callable[..., GitHubClient],
) -> None:
    """Clock skew, or a token not yet known everywhere: GitHub refuses a token minted a
    moment ago (the JWT exchange, or the dispatch with the new token) with 401, once."""
    app_fake.enqueue(401, body={"message": "Bad credentials"}, match=refused)
    client = client_for(
        app_fake.url, app_id=APP_ID, app_private_key=app_key[0], installation_id=installation_id
    )

    client.dispatch(REPO)

    assert len(app_fake.token_exchanges()) == 2  # minted again after the refusal
    dispatches = app_fake.dispatches()
    assert len(dispatches) == (1 if refused == "access_tokens$" else 2)
    assert dispatches[-1].credential == ("token", list(app_fake.issued_tokens)[-1])
    assert len(app_fake.issued_tokens) == (1 if refused == "access_tokens$" else 2)


def test_wrong_app_key_is_rejected_by_github(
    app_fake: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    client = client_for(app_fake.url, app_id=APP_ID, app_private_key=pem, installation_id=77)

    with pytest.raises(PermanentGitHubError, match="HTTP 401: A JSON web token could not be"):
        client.dispatch(REPO)


# --- error classification -------------------------------------------------------------------


def _in(seconds: float) -> Callable[[], dict[str, str]]:
    return lambda: {"Retry-After": email.utils.formatdate(time.time() + seconds, usegmt=True)}


def _reset_in(seconds: float, remaining: str = "0") -> Callable[[], dict[str, str]]:
    return lambda: {
        "X-RateLimit-Remaining": remaining,
        "X-RateLimit-Reset": str(int(time.time() + seconds)),
    }


SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
NO_PERMISSION = {"message": "Resource not accessible by integration"}


@pytest.mark.parametrize(
    ("request_", "status", "headers", "body", "error", "retry_after", "texts"),
    [
        (REPO, 500, {}, None, TransientGitHubError, None, ["HTTP 500: Internal Server Error"]),
        (REPO, 502, {}, "<html>bad gateway</html>", TransientGitHubError, None, ["bad gateway"]),
        (REPO, 503, {"Retry-After": "30"}, None, TransientGitHubError, 30, ["HTTP 503"]),
        # GitHub sends X-RateLimit-Reset on every answer: it means nothing unless exhausted.
        (REPO, 502, _reset_in(3000, "4999"), None, TransientGitHubError, None, []),
        (REPO, 429, {"Retry-After": "7"}, None, TransientGitHubError, 7, ["HTTP 429"]),
        (REPO, 429, _in(120), None, TransientGitHubError, 120, []),
        (REPO, 403, _reset_in(90), {"message": "API rate limit exceeded"}, TransientGitHubError,
         90, ["API rate limit exceeded"]),
        (REPO, 403, {}, SECONDARY, TransientGitHubError, 60, ["secondary rate limit"]),
        (REPO, 403, {}, NO_PERMISSION, PermanentGitHubError, None,
         ["not accessible by integration", "repository_dispatch needs Contents: write"]),
        (WORKFLOW, 403, {}, NO_PERMISSION, PermanentGitHubError, None,
         ["workflow_dispatch needs Actions: write"]),
        (REPO, 401, {}, {"message": "Bad credentials"}, PermanentGitHubError, None,
         ["HTTP 401: Bad credentials", "check GITHUB_TOKEN"]),
        (REPO, 404, {}, {"message": "Not Found"}, PermanentGitHubError, None,
         ["repository acme/ios-app not found, or the token cannot see it"]),
        (WORKFLOW, 404, {}, {"message": "Not Found"}, PermanentGitHubError, None,
         ["workflow_dispatch of release.yml in acme/ios-app", "workflow release.yml not found"]),
        (WORKFLOW, 422, {},
         {"message": "Unexpected inputs provided", "errors": ['["version"]']},
         PermanentGitHubError, None, ["HTTP 422: Unexpected inputs provided", "version"]),
        (REPO, 400, {}, {"message": "Problems parsing JSON"}, PermanentGitHubError, None,
         ["HTTP 400: Problems parsing JSON"]),
        (REPO, 307, {"Location": "https://api.github.com/repositories/1/dispatches"}, None,
         PermanentGitHubError, None, ["unexpected redirect to https://api.github.com/repos"]),
    ],
)  # fmt: skip
def test_http_errors_are_classified(
    request_: DispatchRequest,
    status: int,
    headers: dict[str, str] | Callable[[], dict[str, str]],
    body: Any,
    error: type[GitHubError],
    retry_after: float | None,
    texts: list[str],
    fake_github: FakeGitHub,
    client_for: Callable[..., GitHubClient],
) -> None:
    fake_github.enqueue(status, headers=headers() if callable(headers) else headers, body=body)

    with pytest.raises(GitHubError) as caught:
        client_for(fake_github.url).dispatch(request_)

    exc = caught.value
    assert type(exc) is error
    assert exc.status == status
    for text in texts:
        assert text in exc.message
    assert str(exc) == exc.message
    if isinstance(exc, TransientGitHubError):
        assert exc.retry_after == pytest.approx(retry_after, abs=2)
    assert len(fake_github.requests) == 1  # no internal retry, whatever the status


def test_messages_are_truncated(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.enqueue(422, body={"message": "x" * 5000})

    with pytest.raises(PermanentGitHubError) as caught:
        client_for(fake_github.url).dispatch(REPO)

    assert caught.value.message.startswith("repository_dispatch to acme/ios-app failed: HTTP 422")
    assert len(caught.value.message) <= 500


def test_token_never_appears_in_messages(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.enqueue(401, body={"message": f"Bad credentials for {TOKEN}"})

    with pytest.raises(PermanentGitHubError) as caught:
        client_for(fake_github.url).dispatch(REPO)

    assert TOKEN not in str(caught.value)
    assert "Bad credentials for ***" in caught.value.message


def test_timeout_is_transient_and_does_not_block_the_fake(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    fake_github.enqueue(delay=5)
    # PyGithub asserts an int timeout: 0.5 s is rounded up to 1 s, not down to 0.
    client = client_for(fake_github.url, timeout=0.5)

    started = time.monotonic()
    with pytest.raises(TransientGitHubError) as caught:
        client.dispatch(REPO)
    elapsed = time.monotonic() - started

    assert 0.9 < elapsed < 3
    assert caught.value.status is None
    assert caught.value.retry_after is None
    assert "no answer within 1s" in caught.value.message
    assert TOKEN not in caught.value.message
    assert client.dispatch(REPO).status == 204  # the slow reply is still pending meanwhile
    assert len(fake_github.dispatches()) == 2


def test_connection_refused_is_transient(client_for: Callable[..., GitHubClient]) -> None:
    with pytest.raises(TransientGitHubError) as caught:
        client_for(closed_port_url()).dispatch(REPO)

    assert caught.value.status is None
    assert "ConnectionError" in caught.value.message
    assert TOKEN not in caught.value.message


def test_writes_are_not_throttled(
    fake_github: FakeGitHub, client_for: Callable[..., GitHubClient]
) -> None:
    client = client_for(fake_github.url)

    for _ in range(3):
        client.dispatch(REPO)

    first, *_, last = fake_github.dispatches()
    assert last.at - first.at < 0.5  # PyGithub's default waits 1 s between writes


# --- configuration --------------------------------------------------------------------------


def _ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({}, "set GITHUB_TOKEN (or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)"),
        ({"app_id": APP_ID}, "set GITHUB_APP_PRIVATE_KEY"),
        ({"app_private_key": "KEY"}, "set GITHUB_APP_ID"),
        ({"app_id": APP_ID, "app_private_key": "-----BEGIN RSA PRIVATE KEY-----\nnope"}, "PEM"),
        ({"app_id": APP_ID, "app_private_key": "EC"}, "RSA private key"),
        ({"token": TOKEN, "app_id": APP_ID, "app_private_key": "KEY"}, "not both"),
        ({"token": TOKEN, "installation_id": 5}, "GITHUB_APP_INSTALLATION_ID"),
        ({"token": TOKEN, "api_url": "ftp://github.example"}, "GITHUB_API_URL"),
        ({"token": TOKEN, "timeout": 0}, "timeout"),
    ],
)
def test_config_errors(kwargs: dict[str, Any], text: str) -> None:
    if kwargs.get("app_private_key") == "EC":
        kwargs["app_private_key"] = _ec_key()

    with pytest.raises(ConfigError) as caught:
        GitHubClient(**kwargs)

    assert text in str(caught.value)
    assert TOKEN not in str(caught.value)
    key = kwargs.get("app_private_key")
    assert not key or key not in str(caught.value)


def test_invalid_private_key_error_hides_the_key(app_key: tuple[str, bytes]) -> None:
    broken = app_key[0][:200] + "TAMPERED" + app_key[0][200:]

    with pytest.raises(ConfigError) as caught:
        GitHubClient(app_id=APP_ID, app_private_key=broken)

    assert "not a valid unencrypted RSA private key" in str(caught.value)
    assert app_key[0][40:80] not in str(caught.value)
    assert caught.value.__cause__ is None  # nothing chained that could quote the key
    assert caught.value.__context__ is None
