"""Pointing bridge at the fake App Store Connect (tests/fakes/appstoreconnect/)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from bridge import create_app
from bridge.appstoreconnect.client import AscClient
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect
from tests.support.samples import ASC_SECRET


def asc_client_for(
    fake: FakeAppStoreConnect,
    key: AscKey,
    timeout: float = 2.0,
    *,
    clock: Callable[[], float] = time.time,
) -> AscClient:
    """A client of ``fake`` signing its tokens with ``key``."""
    return AscClient(
        api_url=fake.url,
        key_id=key.key_id,
        issuer_id=key.issuer_id,
        private_key=key.private_pem,
        timeout=timeout,
        clock=clock,
    )


def asc_environ(fake: FakeAppStoreConnect, key: AscKey) -> dict[str, str]:
    """The variables that give bridge an App Store Connect API key, ``fake`` as the API."""
    return {
        "ASC_KEY_ID": key.key_id,
        "ASC_ISSUER_ID": key.issuer_id,
        "ASC_PRIVATE_KEY": key.private_pem,
        "ASC_API_URL": fake.url,
    }


def enriching_app(
    directory: Path,
    routes_yaml: str,
    *,
    fake_asc: FakeAppStoreConnect,
    key: AscKey,
    github_url: str,
    **env: str,
) -> Flask:
    """bridge on ``routes_yaml`` (``ASC_SECRET`` for its sources), a SQLite file in
    ``directory``, an App Store Connect API key with ``fake_asc`` as the API, GitHub at
    ``github_url``, the dispatcher thread off; ``env``: more variables (a GitHub token, the
    admin token). Close it with ``tests.support.app.close_app``."""
    path = directory / "routes.yaml"
    path.write_text(routes_yaml)
    return create_app(
        environ={
            "BRIDGE_ROUTES": str(path),
            "DATABASE_URL": f"sqlite:///{directory / 'bridge.db'}",
            "ASC_SECRET": ASC_SECRET,
            "BRIDGE_DISPATCHER": "0",
            "GITHUB_API_URL": github_url,
            **asc_environ(fake_asc, key),
            **env,
        }
    )
