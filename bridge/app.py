"""The Flask app factory: settings → routes.yaml → store → GitHub client → dispatcher."""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from bridge import ui as admin
from bridge.appstoreconnect.client import AscClient, asc_client
from bridge.appstoreconnect.reconcile_job import ReconcileJob
from bridge.config import Settings
from bridge.delivery.dispatcher import Dispatcher
from bridge.delivery.github import GitHubClient
from bridge.errors import ConfigError
from bridge.intake import endpoint as web
from bridge.metrics import Metrics
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from bridge.store import open_store

log = logging.getLogger(__name__)


def create_app(
    config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the app: settings (defaults, then ``environ``/``os.environ``, then ``config``
    overrides by Settings field name), routes.yaml loaded and validated, store opened,
    dispatcher started (unless ``dispatcher`` is off).

    Raises ConfigError (invalid routes.yaml, missing GitHub credentials, `enrich` without an
    App Store Connect API key, bad DATABASE_URL): the app refuses to start rather than accept
    events it could not deliver.
    """
    env = os.environ if environ is None else environ
    settings = Settings.from_env(env).with_overrides(config or {})
    routes = load_routes(settings.routes_path, env)
    for warning in routes.warnings:
        log.warning("routes: %s", warning)
    sender = github_sender(settings, dispatches=bool(routes.routes))
    metrics = Metrics(frozenset(routes.sources))
    store = open_store(settings.database_url, pool_size=settings.db_pool_size)
    asc = asc_api(settings, routes)
    dispatcher = Dispatcher(
        store=store, routes=routes, sender=sender, settings=settings, metrics=metrics, asc=asc
    )

    reconciler = ReconcileJob(asc, store, routes, settings, dispatcher.wake) if asc else None

    app = Flask("bridge", template_folder="ui/templates", static_folder="ui/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["bridge"] = web.Bridge(settings, routes, store, dispatcher, metrics, reconciler)
    web.register(app)
    admin.register(app, metrics)
    if settings.dispatcher:  # the background work: delivering, and catching up (when on)
        dispatcher.start()
        atexit.register(dispatcher.stop)
        if reconciler is not None:
            reconciler.start()
            atexit.register(reconciler.stop)
    return app


def github_sender(settings: Settings, *, dispatches: bool) -> GitHubClient | None:
    """The GitHub client; None in dry-run mode (or when no route dispatches at all).

    Raises ConfigError when routes dispatch but no credentials are set: fail at start, not at
    the first event.
    """
    if settings.dry_run:
        return None
    if not settings.github_configured:
        if not dispatches:
            return None
        raise ConfigError(
            "routes.yaml dispatches to GitHub but no credentials are set: set GITHUB_TOKEN, "
            "or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY; or BRIDGE_DRY_RUN=1 to record "
            "would-be requests without sending them"
        )
    return GitHubClient(
        api_url=settings.github_api_url,
        token=settings.github_token,
        app_id=settings.github_app_id,
        app_private_key=settings.github_app_private_key,
        installation_id=settings.github_app_installation_id,
        timeout=settings.github_timeout,
    )


def asc_api(settings: Settings, routes: RoutesConfig) -> AscClient | None:
    """The App Store Connect API client when a key is configured (None otherwise).

    Raises ConfigError when routes.yaml enriches events or the reconcile job is on but the key
    is missing, or when the key is configured only in part or unreadable.
    """
    missing = settings.asc_missing
    if len(missing) == 3:
        if routes.uses_asc_api:
            raise ConfigError(
                "routes.yaml enriches App Store Connect events (`enrich: true`) but the API key "
                f"is not configured: set {', '.join(missing)} (README: App Store Connect API key)"
            )
        if settings.reconcile_interval:
            raise ConfigError(
                "BRIDGE_RECONCILE_INTERVAL is set but the App Store Connect API key is not "
                f"configured: set {', '.join(missing)}"
            )
        return None
    return asc_client(settings)
