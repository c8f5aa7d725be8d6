"""Pointing bridge at the fake App Store Connect (tests/fakes/appstoreconnect/)."""

from __future__ import annotations

import time
from collections.abc import Callable

from bridge.appstoreconnect.client import AscClient
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect


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
