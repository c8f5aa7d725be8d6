"""The composition root: every long-lived part of a bridge process, built in one place from
Settings and routes.yaml, and closed by one call.

The web app (:func:`bridge.app.create_app`), ``bridge worker`` and every CLI command build a
:class:`Services` and close it (``with build_services() as services: …``). Parts are built
when first used, so ``bridge check`` opens no database and ``bridge events`` needs no GitHub
credentials; :meth:`Services.close` stops and closes exactly what was built, in reverse order.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from flask import current_app

from bridge import logs
from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.enrichment import Enricher
from bridge.appstoreconnect.reconcile_job import ReconcileJob
from bridge.config import Settings
from bridge.delivery.context import ContextBuilder
from bridge.delivery.credential_watch import APP_STORE_CONNECT, CredentialWatch, WatchedSender
from bridge.delivery.dispatcher import Dispatcher
from bridge.delivery.github import GitHubClient
from bridge.errors import ConfigError, StoreUnavailableError
from bridge.intake.budget import SourceBudgets
from bridge.metrics import Metrics
from bridge.notify.alerts import Alerter
from bridge.notify.client import Notifier
from bridge.providers import PROVIDERS
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from bridge.store import Store, check_database_url, open_store
from bridge.store.deferred import DeferredStore
from bridge.store.sqlite import sqlite_path

log = logging.getLogger(__name__)

# A source's webhook secret or token is all that stands between the internet and the store.
MIN_CREDENTIAL = 16


class Services:
    """What a running bridge holds. Attributes are built on first use (thread-safe only once
    built: :func:`bridge.app.create_app` and ``bridge worker`` build theirs before starting
    any thread)."""

    def __init__(self, settings: Settings, routes: RoutesConfig, *, create: bool = True) -> None:
        self.settings = settings
        self.routes = routes
        # Whether opening the store may create it (SQLite): only the processes that take
        # webhooks or deliver, and `db upgrade`; commands that read do not.
        self.create = create
        logs.hide(routes.secrets)  # what ${VAR} put in targets never reaches a log line
        # A source that never sent anything is silent since this process started.
        self.started_at = time.time()

    # A web process sets this before building: a database that does not answer at start then
    # gives a DeferredStore (503 + Retry-After until it answers) instead of a failed boot.
    wait_for_store = False
    # A web process (create_app) keeps a PostgreSQL connection open for each request thread
    # and one for its dispatcher: a webhook never waits for a connection to be opened (TCP,
    # TLS, authentication). Commands, checks and workers keep one.
    serves_requests = False

    @cached_property
    def store(self) -> Store:
        """The store DATABASE_URL names, migrated. Raises ConfigError (unsupported URL, or no
        SQLite file when ``create`` is off) and StoreUnavailableError (unless
        :attr:`wait_for_store`)."""
        url, size, create = self.settings.database_url, self.settings.db_pool_size, self.create
        warm = min(size, self.settings.threads + 1) if self.serves_requests else 1

        def open_it() -> Store:
            return open_store(url, pool_size=size, warm=warm, create=create)

        try:
            return open_it()
        except StoreUnavailableError as exc:
            if not self.wait_for_store:
                raise
            return cast(Store, DeferredStore(open_it, exc))

    @cached_property
    def credentials(self) -> CredentialWatch:
        """How GitHub and App Store Connect take bridge's credentials (kept in the store)."""
        return CredentialWatch(self.store)

    @cached_property
    def metrics(self) -> Metrics:
        known = {
            name: PROVIDERS[src.provider].EVENT_TYPES for name, src in self.routes.sources.items()
        }
        return Metrics(frozenset(self.routes.sources), event_types=known)

    @cached_property
    def budgets(self) -> SourceBudgets:
        """The sources' ``limit:`` counts (this process's)."""
        return SourceBudgets(self.routes.sources)

    @cached_property
    def github(self) -> GitHubClient | None:
        """The GitHub client; None in dry-run mode (or when no route dispatches at all).

        Raises ConfigError when routes dispatch but no credentials are set: fail at start,
        not at the first event.
        """
        return GitHubClient.from_settings(
            self.settings, dispatches=self.routes.dispatches_to_github, routes=self.routes.path
        )

    @cached_property
    def asc(self) -> AscClient | None:
        """The App Store Connect API client when a key is configured (None otherwise).

        Raises ConfigError when routes.yaml enriches events or the reconcile job is on but the
        key is missing, or when the key is configured only in part or unreadable.
        """
        missing = self.settings.asc_missing
        if len(missing) == 3:
            text = self.settings.asc_missing_text
            if self.routes.uses_asc_api:
                raise ConfigError(
                    f"{self.routes.path} enriches App Store Connect events (`enrich: true`) but "
                    f"the API key is not configured: set {text} (README: App Store Connect API "
                    "key)"
                )
            if self.settings.reconcile_interval:
                raise ConfigError(
                    "BRIDGE_RECONCILE_INTERVAL is set but the App Store Connect API key is not "
                    f"configured: set {text}"
                )
            return None
        return AscClient.from_settings(self.settings)

    def require_asc(self) -> AscClient:
        """The App Store Connect API client, for commands that cannot work without it.
        Raises ConfigError naming the variables to set."""
        return self.asc or AscClient.from_settings(self.settings)

    @cached_property
    def contexts(self) -> ContextBuilder:
        """What each delivery's templates see: one builder for sending and previewing."""
        watch = self.credentials

        def on_key(refused: str | None) -> None:
            if refused is None:
                watch.accepted(APP_STORE_CONNECT)
            else:
                watch.refused(APP_STORE_CONNECT, refused)

        enricher = Enricher(self.asc, self.store, on_key=on_key)
        return ContextBuilder(facts=self.store, routes=self.routes, enricher=enricher)

    @cached_property
    def preview_contexts(self) -> ContextBuilder:
        """For bodies that are not stored (``bridge simulate``): :attr:`contexts` when the
        database exists, else a builder over no stored facts, so a preview creates no
        database."""
        url = self.settings.database_url
        if url.startswith("sqlite:") and not Path(sqlite_path(url)).exists():
            return ContextBuilder.without_store(self.routes, self.asc)
        return self.contexts

    @cached_property
    def notifier(self) -> Notifier | None:
        """Sends to chat and HTTP targets; None in dry-run mode."""
        return None if self.settings.dry_run else Notifier(timeout=self.settings.notify_timeout)

    @cached_property
    def alerter(self) -> Alerter:
        """Announces failed and stuck deliveries on the targets of ``alerts:``."""
        return Alerter(self.routes, self.notifier, self.settings, metrics=self.metrics)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            store=self.store,
            routes=self.routes,
            sender=WatchedSender(self.github, self.credentials) if self.github else None,
            settings=self.settings,
            contexts=self.contexts,
            metrics=self.metrics,
            notifier=self.notifier,
            alerter=self.alerter,
        )

    @cached_property
    def reconciler(self) -> ReconcileJob | None:
        """The periodic catch-up, when an App Store Connect key is configured."""
        client = self.asc
        if client is None:
            return None
        return ReconcileJob(client, self.store, self.routes, self.settings, self.dispatcher.wake)

    def check_configuration(self) -> None:
        """Build the clients (GitHub, App Store Connect) without opening the store: what the
        gunicorn master checks once before starting workers. Raises ConfigError."""
        check_database_url(self.settings.database_url)
        _ = self.github, self.asc

    def check(self) -> None:
        """Build the clients and open the store now, so that a configuration error stops the
        process at start rather than at the first event. Raises ConfigError,
        StoreUnavailableError. (Builds no metrics: ``bridge serve`` checks in the gunicorn
        master, where prometheus_client must not be imported yet; see bridge.metrics.)"""
        short = sorted(
            name
            for name, source in self.routes.sources.items()
            if any(len(secret) < MIN_CREDENTIAL for secret in source.secrets)
        )
        if short:  # the value itself is never printed
            raise ConfigError(
                f"routes.yaml: a webhook secret or token of {', '.join(short)} is shorter than "
                f"{MIN_CREDENTIAL} characters, which anyone could guess: use a long random value "
                "(openssl rand -hex 32)"
            )
        _ = self.github, self.asc, self.store

    def build(self) -> None:
        """Build every part (no thread is started), so that no request thread has to."""
        self.check()
        _ = self.metrics, self.dispatcher, self.reconciler, self.budgets

    def start(self) -> None:
        """Start the background work: delivering, and catching up (when configured)."""
        self.dispatcher.start()
        if self.reconciler is not None:
            self.reconciler.start()

    def close(self) -> None:
        """Stop the threads and close the connections that were started or opened, newest
        first. Idempotent; every step runs even when an earlier one fails."""
        built = self.__dict__  # what cached_property has built so far
        parts = ("reconciler", "dispatcher", "alerter", "notifier", "github", "asc", "store")
        for name in parts:
            part = built.pop(name, None)
            if part is None:
                continue
            try:
                part.stop() if name in ("reconciler", "dispatcher", "alerter") else part.close()
            except Exception:
                log.exception("closing the %s", name)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Defaults, then ``environ`` (``os.environ`` when None), then ``overrides`` by Settings
    field name. Raises ConfigError naming what is wrong."""
    env = os.environ if environ is None else environ
    return Settings.from_env(env).with_overrides(overrides or {})


def build_services(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Services:
    """Settings and routes.yaml, loaded and validated; nothing opened or started yet.
    Raises ConfigError (invalid settings or routes.yaml)."""
    env = os.environ if environ is None else environ
    settings = load_settings(env, overrides)
    return Services(settings, load_routes(settings.routes_path, env))


def current_services() -> Services:
    """The running app's services (inside a request or app context)."""
    services: Services = current_app.extensions["bridge"]
    return services
