"""Enrichment reads only the resource type an event type names: a signed payload pointing a
build upload event at ``/v1/users/…`` (or any other type) makes no request with the team
key. A real AscClient against the fake App Store Connect on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.enrichment import INSTANCE_TYPES, Enricher
from bridge.events import Event, Instance
from bridge.providers.appstoreconnect import EVENT_TYPES, PING
from bridge.store.sqlite import SQLiteStore
from tests.fakes.appstoreconnect import FakeAppStoreConnect, generate_asc_key


@pytest.fixture
def asc() -> Iterator[tuple[FakeAppStoreConnect, AscClient]]:
    key = generate_asc_key()
    with FakeAppStoreConnect(key) as fake:
        client = AscClient(
            api_url=fake.url,
            key_id=key.key_id,
            issuer_id=key.issuer_id,
            private_key=key.private_pem,
            timeout=2.0,
        )
        try:
            yield fake, client
        finally:
            client.close()


def event(instance: Instance) -> Event:
    return Event(
        "ios", "appstoreconnect", "buildUploadStateUpdated", "e1", None, "COMPLETE",
        instance=instance, payload={},
    )  # fmt: skip


@pytest.mark.parametrize("named", ["users", "apps", "builds", "appStoreVersions", "x" * 300])
def test_a_type_the_event_does_not_use_is_not_fetched(
    asc: tuple[FakeAppStoreConnect, AscClient], tmp_path: Path, named: str
) -> None:
    fake, client = asc
    store = SQLiteStore(str(tmp_path / "b.db"))
    try:
        details = Enricher(client, store).fetch(event(Instance(named, "u1")))
    finally:
        store.close()
    assert details.data is None
    assert details.error is not None and "are about buildUploads" in details.error
    assert len(details.error) < 200
    assert fake.requests == []


def test_the_type_the_event_names_is_fetched(
    asc: tuple[FakeAppStoreConnect, AscClient], tmp_path: Path
) -> None:
    fake, client = asc
    fake.add_resource({"data": {"type": "buildUploads", "id": "b1", "attributes": {}}})
    store = SQLiteStore(str(tmp_path / "b.db"))
    try:
        details = Enricher(client, store).fetch(event(Instance("buildUploads", "b1")))
    finally:
        store.close()
    assert details.error is None and details.data is not None
    assert [r.path for r in fake.requests] == ["/v1/buildUploads/b1"]


def test_every_event_type_with_a_resource_has_its_type() -> None:
    # alternativeDistributionTerritoryAvailabilityUpdated names only an app (no instance).
    without = {PING, "alternativeDistributionTerritoryAvailabilityUpdated"}
    assert set(INSTANCE_TYPES) == EVENT_TYPES - without
