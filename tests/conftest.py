"""Fixtures only; what they are built from lives in tests/support/ and tests/fakes/.

- ``environ``: the environment of a bridge under test (tests/support/app.py), its files in
  ``tmp_path``; ``routes_file``: its routes.yaml.
- ``app``, ``client``, ``runner``: that bridge as a Flask app, its test client, and the
  ``bridge`` command in its environment. ``admin_app`` and ``auth``: the same with the
  delivery log on, and logging in to it.
- ``store_url`` / ``store``: each store test runs on SQLite and on a real PostgreSQL.
- ``fake_github``, ``asc_key``, ``fake_asc``: the HTTP fakes, started; a test fails if a
  handler of the fake crashed.
- ``postgres_server`` (session), ``postgres_url`` (a fresh database per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.store import Store, open_store
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect, generate_asc_key
from tests.fakes.chat import FakeChat
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge_environ, close_app, make_app
from tests.support.auth import TOKEN, AdminAuth
from tests.support.cli import BridgeRunner
from tests.support.postgres import PostgresServer

# -- the app ---------------------------------------------------------------------------------


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """The environment of a bridge under test: dry-run, dispatcher thread off (tests drive it)."""
    return bridge_environ(tmp_path)


@pytest.fixture
def routes_file(environ: dict[str, str]) -> Path:
    return Path(environ["BRIDGE_ROUTES"])


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = make_app(tmp_path)
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(environ: dict[str, str]) -> BridgeRunner:
    """``runner.invoke("events")``: the ``bridge`` command on the same files as ``app``."""
    return BridgeRunner(environ)


@pytest.fixture
def admin_app(tmp_path: Path) -> Iterator[Flask]:
    """``app`` with the delivery log on: BRIDGE_ADMIN_TOKEN is tests.support.auth.TOKEN."""
    app = make_app(tmp_path, BRIDGE_ADMIN_TOKEN=TOKEN)
    yield app
    close_app(app)


@pytest.fixture
def auth(admin_app: Flask) -> AdminAuth:
    """``auth.log_in()`` / ``auth.log_out()`` on ``auth.client``, a client of ``admin_app``."""
    return AdminAuth(admin_app.test_client())


# -- stores ----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs twice: on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bridge.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, pool_size=4)
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


# -- HTTP fakes ------------------------------------------------------------------------------


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started :class:`FakeGitHub` (no prefix); fails the test if a handler crashed."""
    with FakeGitHub() as fake:
        yield fake
    fake.check()


@pytest.fixture(scope="session")
def asc_key() -> AscKey:
    """A fresh App Store Connect key (EC P-256), shared by the session's tests."""
    return generate_asc_key()


@pytest.fixture
def fake_asc(asc_key: AscKey) -> Iterator[FakeAppStoreConnect]:
    """A started :class:`FakeAppStoreConnect` accepting tokens signed with ``asc_key``;
    fails the test if a handler crashed."""
    with FakeAppStoreConnect(asc_key) as fake:
        yield fake
    fake.check()


@pytest.fixture
def fake_chat() -> Iterator[FakeChat]:
    """The fake chat vendors and HTTP endpoints (tests/fakes/chat.py), started."""
    with FakeChat() as fake:
        yield fake
        fake.check()
