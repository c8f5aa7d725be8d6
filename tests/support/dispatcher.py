"""One dispatcher harness: a SQLite store, routes and a GitHub client (the fake GitHub's URL,
or one where nothing listens) wired into a Dispatcher whose clock moves only when the test
moves it, so retry schedules are checked without waiting for them.

    harness = DispatcherHarness(tmp_path / "bridge.db", routes, fake_github.url)
    harness.receive("appstoreconnect/build-upload-complete.json")
    assert harness.dispatcher.run_once() == 1
    harness.clock.now += 60
    ...
    harness.close()

A test module subclasses it to fix its own routes and settings (tests/test_dispatcher.py,
tests/test_enrichment.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.enrichment import Enricher
from bridge.config import Settings
from bridge.delivery.context import ContextBuilder
from bridge.delivery.dispatcher import Dispatcher
from bridge.delivery.github import GitHubClient
from bridge.intake.ingest import ingest
from bridge.routing.model import RoutesConfig
from bridge.store import DeliveryRecord
from bridge.store.sqlite import SQLiteStore
from tests.support.clock import Clock
from tests.support.samples import sample


class DispatcherHarness:
    """``settings`` override Settings fields by name (``poll_interval`` is 30 s unless given:
    the background thread, when started, does not poll during a test)."""

    def __init__(
        self,
        database: Path,
        routes: RoutesConfig,
        github_url: str,
        *,
        token: str = "ghp_test",
        timeout: float = 2.0,
        asc: AscClient | None = None,
        settings: Mapping[str, object] | None = None,
    ) -> None:
        self.clock = Clock()
        self.store = SQLiteStore(str(database))
        self.routes = routes
        self.settings = Settings.from_env({}).with_overrides(
            {"poll_interval": 30.0, **(settings or {})}
        )
        self.github = GitHubClient(api_url=github_url, token=token, timeout=timeout)
        enricher = Enricher(asc, self.store, clock=self.clock)
        contexts = ContextBuilder(facts=self.store, routes=self.routes, enricher=enricher)
        self.dispatcher = Dispatcher(
            store=self.store, routes=self.routes, sender=self.github, settings=self.settings,
            contexts=contexts, clock=self.clock,
        )  # fmt: skip

    def receive(
        self,
        name: str,
        source: str = "ios",
        *,
        event_id: str | None = None,
        body: bytes | None = None,
    ) -> str:
        """Take in the sample ``name`` (or ``body``) as ``source`` sends it, as the webhook
        endpoint does after the signature check; ``event_id`` makes it another event of the
        same shape. Returns the event id."""
        data = sample(name) if body is None else body
        if event_id is not None:
            payload = json.loads(data)
            payload["data"]["id"] = event_id
            data = json.dumps(payload).encode()
        return ingest(self.store, self.routes, source, data, now=self.clock.now).event.id

    def deliveries(self) -> list[DeliveryRecord]:
        """Every delivery of the last 100 events, newest event first."""
        return [d for e in self.store.recent_events(limit=100) for d in e.deliveries]

    def only(self) -> DeliveryRecord:
        """The one delivery there is (fails if there are more or none)."""
        [delivery] = self.deliveries()
        return delivery

    def close(self) -> None:
        self.dispatcher.stop()
        self.github.close()
        self.store.close()
