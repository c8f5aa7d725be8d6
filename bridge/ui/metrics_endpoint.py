"""``GET /metrics`` (Prometheus text format 0.0.4) for holders of ``BRIDGE_METRICS_TOKEN`` or
``BRIDGE_ADMIN_TOKEN`` (bearer); 404 when neither is set.

The counters are :mod:`bridge.metrics`'s; the outbox gauges are read from the store at scrape
time, so every instance reports the same figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from bridge.appstoreconnect.key_health import refused_key
from bridge.errors import StoreUnavailableError
from bridge.intake.silence import SourceQuiet, quiet_sources
from bridge.metrics import Metrics
from bridge.services import current_services
from bridge.store import CredentialHealth, CredentialState, Store
from bridge.ui.auth import bearer_token, client_address, throttle, throttled, tokens_match
from bridge.version import __version__

if TYPE_CHECKING:  # a type only (prometheus_client is imported after the fork: bridge.metrics)
    from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

# The text format every Prometheus version reads (generate_latest writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATES = ("pending", "delivered", "failed", "dry_run")
WEBHOOK_ENDPOINT = "bridge.receive"


class StoreCollector:
    """Outbox gauges, read when scraped. A store outage is reported as
    ``bridge_store_up 0``, not as a failed scrape."""

    def __init__(
        self,
        store: Store,
        quiet: Callable[[], list[SourceQuiet]] | None = None,
        credentials: CredentialHealth | None = None,
    ) -> None:
        self.store = store
        self.quiet = quiet
        self.credentials = credentials

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

        info = GaugeMetricFamily("bridge_info", "bridge's version.", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        try:
            stats = self.store.outbox_stats()
        except StoreUnavailableError as exc:
            log.error("metrics: %s", exc)
            yield GaugeMetricFamily("bridge_store_up", "1 when the store answers.", value=0)
            return
        yield GaugeMetricFamily("bridge_store_up", "1 when the store answers.", value=1)
        by_state = GaugeMetricFamily(
            "bridge_deliveries", "Deliveries in the store, by state.", labels=["state"]
        )
        for name in STATES:
            by_state.add_metric([name], stats.by_state.get(name, 0))  # type: ignore[call-overload]
        yield by_state
        yield GaugeMetricFamily(
            "bridge_outbox_depth", "Deliveries waiting to be sent (pending).", value=stats.pending
        )
        yield GaugeMetricFamily(
            "bridge_store_size_bytes",
            "Room the database takes (alert before the plan's limit; see BRIDGE_DB_SIZE_WARNING).",
            value=self.store.size_bytes(),
        )
        refused = refused_key(self.store)
        yield GaugeMetricFamily(
            "bridge_asc_key_refused",
            "1 when App Store Connect refused the API key for the newest event that asked for "
            "details (deliveries go without details until the key is fixed).",
            value=0 if refused is None else 1,
        )
        oldest = 0.0 if stats.oldest_pending_at is None else time.time() - stats.oldest_pending_at
        yield GaugeMetricFamily(
            "bridge_outbox_oldest_pending_age_seconds",
            "How long the longest-waiting pending delivery has been queued (0: none).",
            value=max(0.0, oldest),
        )
        if self.quiet is not None:
            try:
                quiet = self.quiet()
            except StoreUnavailableError as exc:
                log.error("metrics: %s", exc)
                return
            yield from _silence(quiet)
        if self.credentials is not None:
            try:
                states = self.credentials.credential_states()
            except StoreUnavailableError as exc:
                log.error("metrics: %s", exc)
                return
            yield from _credentials(states)


def _silence(quiet: list[SourceQuiet]) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

    seconds = GaugeMetricFamily(
        "bridge_source_quiet_seconds",
        "Seconds since the source's last event (sources with silent_after).",
        labels=["source"],
    )
    silent = GaugeMetricFamily(
        "bridge_source_silent",
        "1 when the source has sent nothing for longer than its silent_after.",
        labels=["source"],
    )
    for q in quiet:
        seconds.add_metric([q.source], q.quiet_for)
        silent.add_metric([q.source], 1 if q.silent else 0)
    yield seconds
    yield silent


def _credentials(states: list[CredentialState]) -> Iterator[Metric]:
    from prometheus_client.core import GaugeMetricFamily  # noqa: PLC0415

    refused = GaugeMetricFamily(
        "bridge_credential_refused",
        "1 while the credential's last use was refused (github, appstoreconnect).",
        labels=["credential"],
    )
    expiry = GaugeMetricFamily(
        "bridge_credential_expires_in_seconds",
        "Seconds until the credential expires, when GitHub says (negative: expired).",
        labels=["credential"],
    )
    now = time.time()
    for state in states:
        refused.add_metric([state.name], 1 if state.refused_at is not None else 0)
        if state.expires_at is not None:
            expiry.add_metric([state.name], state.expires_at - now)
    yield refused
    yield expiry


def exposition(
    metrics: Metrics,
    store: Store,
    quiet: Callable[[], list[SourceQuiet]] | None = None,
    credentials: CredentialHealth | None = None,
) -> bytes:
    """Every process's counters and the store's gauges (and ``quiet``'s, the sources with
    ``silent_after``), in the text format."""
    from prometheus_client import CollectorRegistry, generate_latest  # noqa: PLC0415

    gauges = CollectorRegistry()
    gauges.register(StoreCollector(store, quiet, credentials))
    return generate_latest(metrics.counters()) + generate_latest(gauges)


def register(app: Flask, metrics: Metrics) -> None:
    """``GET /metrics`` and the webhook request counter."""

    @app.after_request
    def count_webhook(response: Response) -> Response:
        if request.endpoint == WEBHOOK_ENDPOINT and request.view_args:
            metrics.observe_response(str(request.view_args.get("source")), response.status_code)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def scrape() -> ResponseReturnValue:
    services = current_services()
    settings = services.settings
    tokens = [t for t in (settings.metrics_token, settings.admin_token) if t]
    if not tokens:
        message = "metrics are disabled: set BRIDGE_METRICS_TOKEN or BRIDGE_ADMIN_TOKEN"
        return jsonify(error=message), 404
    if (refused := throttled()) is not None:
        return refused
    given = bearer_token()
    # Compared with every token, without stopping at the first match.
    matches = [tokens_match(given or "", t) for t in tokens]
    if given is None or not any(matches):
        throttle().failed(client_address(), "metrics token")
        response = jsonify(error="unauthorized: send Authorization: Bearer <token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="bridge metrics"'
        return response, 401
    throttle().succeeded(client_address())

    def quiet() -> list[SourceQuiet]:
        now = time.time()
        return quiet_sources(
            services.routes, services.store, now=now, started_at=services.started_at
        )

    body = exposition(services.metrics, services.store, quiet, services.store)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
