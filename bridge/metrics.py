"""Prometheus metrics, served at ``GET /metrics`` (text format 0.0.4) to holders of
``BRIDGE_METRICS_TOKEN`` or ``BRIDGE_ADMIN_TOKEN`` (bearer); 404 when neither is set.

* Counters and the attempt histogram count what this process did. Under gunicorn,
  ``bridge.gunicorn_conf`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts, so
  prometheus_client keeps them in files that every worker's ``/metrics`` adds up
  (https://prometheus.github.io/client_python/multiprocess/).
* Outbox gauges are read from the store at scrape time: the same figures on every instance.

prometheus_client chooses between in-memory and file-backed values when it is first imported,
from the environment. It is therefore imported only inside :class:`Metrics` (built by the app
factory, in each worker after the fork), never at module level.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from bridge.errors import StoreUnavailableError
from bridge.intake.endpoint import state
from bridge.store import Store
from bridge.ui.auth import bearer_token, tokens_match
from bridge.version import __version__

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

# The text format every Prometheus version reads (generate_latest writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# GitHub answers a dispatch in about 0.3-1 s; timeouts are 10 s by default.
ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STATES = ("pending", "delivered", "failed", "dry_run")
WEBHOOK_ENDPOINT = "bridge.receive"


class Metrics:
    """This process's counters. ``observe_*`` are called on the request and dispatch paths:
    each is one or two in-memory (or mmap) increments."""

    def __init__(self, sources: frozenset[str] = frozenset()) -> None:
        from prometheus_client import (  # noqa: PLC0415  (see the module docstring)
            CollectorRegistry,
            Counter,
            Histogram,
            disable_created_metrics,
            values,
        )

        # Multiprocess mode has no _created series: neither has the single-process one.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.sources = sources
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        if self.multiprocess_dir and values.ValueClass.__name__ == "MutexValue":
            log.warning(
                "metrics: prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was "
                "set; /metrics shows this worker's counters only"
            )
        self.registry = None if self.multiprocess_dir else CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "bridge_webhook_requests", "Webhook requests answered, by source and HTTP status.",
            ["source", "status"], registry=registry,
        )  # fmt: skip
        self.signature_failures = Counter(
            "bridge_webhook_signature_failures",
            "Webhook requests refused for a missing or wrong signature or token.",
            ["source"], registry=registry,
        )  # fmt: skip
        self.events = Counter(
            "bridge_events", "New events stored (redeliveries not counted), by source and type.",
            ["source", "type"], registry=registry,
        )  # fmt: skip
        self.attempts = Counter(
            "bridge_delivery_attempts", "Delivery attempts, by outcome.",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.attempt_seconds = Histogram(
            "bridge_delivery_attempt_duration_seconds",
            "Time to render and send one delivery to GitHub, by outcome.",
            ["outcome"], buckets=ATTEMPT_BUCKETS, registry=registry,
        )  # fmt: skip

    def observe_response(self, source: str, status: int) -> None:
        label = source if source in self.sources else "unknown"  # never a caller's string
        self.requests.labels(label, str(status)).inc()
        if status == 401:
            self.signature_failures.labels(label).inc()

    def observe_event(self, source: str, event_type: str) -> None:
        self.events.labels(source, event_type).inc()

    def observe_attempt(self, outcome: str, seconds: float) -> None:
        self.attempts.labels(outcome).inc()
        self.attempt_seconds.labels(outcome).observe(seconds)

    def exposition(self, store: Store) -> bytes:
        """Every process's counters (file-backed under gunicorn) and the store's gauges."""
        from prometheus_client import CollectorRegistry, generate_latest  # noqa: PLC0415
        from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

        counters = self.registry
        if counters is None:  # gunicorn: add up every worker's files
            counters = CollectorRegistry()
            MultiProcessCollector(counters, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        gauges = CollectorRegistry()
        gauges.register(StoreCollector(store))
        return generate_latest(counters) + generate_latest(gauges)


class StoreCollector:
    """Outbox gauges, read when scraped. A store outage is reported as
    ``bridge_store_up 0``, not as a failed scrape."""

    def __init__(self, store: Store) -> None:
        self.store = store

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
        oldest = 0.0 if stats.oldest_pending_at is None else time.time() - stats.oldest_pending_at
        yield GaugeMetricFamily(
            "bridge_outbox_oldest_pending_age_seconds",
            "How long the longest-waiting pending delivery has been queued (0: none).",
            value=max(0.0, oldest),
        )


def register(app: Flask, metrics: Metrics) -> None:
    """``GET /metrics`` and the webhook request counter."""
    app.extensions["bridge_metrics"] = metrics

    @app.after_request
    def count_webhook(response: Response) -> Response:
        if request.endpoint == WEBHOOK_ENDPOINT and request.view_args:
            metrics.observe_response(str(request.view_args.get("source")), response.status_code)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def scrape() -> ResponseReturnValue:
    settings = state().settings
    tokens = [t for t in (settings.metrics_token, settings.admin_token) if t]
    if not tokens:
        message = "metrics are disabled: set BRIDGE_METRICS_TOKEN or BRIDGE_ADMIN_TOKEN"
        return jsonify(error=message), 404
    given = bearer_token()
    # Compared with every token, without stopping at the first match.
    matches = [tokens_match(given or "", t) for t in tokens]
    if given is None or not any(matches):
        response = jsonify(error="unauthorized: send Authorization: Bearer <token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="bridge metrics"'
        return response, 401
    metrics: Metrics = current_app.extensions["bridge_metrics"]
    body = metrics.exposition(state().store)
    return Response(body, 200, {"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})
