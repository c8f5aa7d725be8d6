"""HTTP: ``POST /webhooks/<source>`` and ``GET /healthz`` (docs/architecture.md, "Contract: HTTP").

verify (raw bytes) → normalize → match → store → 202, one direction. Every refusal is a JSON
``{"error": …}`` with a 4xx status; a store outage is a 503 so the sender retries; nothing a
client sends produces a 5xx.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from bridge.config import Settings
from bridge.delivery.dispatcher import Dispatcher
from bridge.errors import RequestError, StoreUnavailableError, UnknownSourceError
from bridge.intake.ingest import ingest
from bridge.providers import PROVIDERS
from bridge.routing.model import RoutesConfig
from bridge.store import Store

if TYPE_CHECKING:  # bridge.metrics imports bridge.web, which imports this chain
    from bridge.appstoreconnect.reconcile_job import ReconcileJob
    from bridge.metrics import Metrics

log = logging.getLogger(__name__)
bp = Blueprint("bridge", __name__)


@dataclass(frozen=True, slots=True)
class Bridge:
    """What a running app holds; ``app.extensions["bridge"]``."""

    settings: Settings
    routes: RoutesConfig
    store: Store
    dispatcher: Dispatcher
    metrics: Metrics | None = None
    reconciler: ReconcileJob | None = None  # BRIDGE_RECONCILE_INTERVAL


def state() -> Bridge:
    bridge: Bridge = current_app.extensions["bridge"]
    return bridge


@bp.post("/webhooks/<source>")
def receive(source: str) -> tuple[Response, int]:
    bridge = state()
    configured = bridge.routes.sources.get(source)
    if configured is None:
        raise UnknownSourceError(f"unknown source {source!r}")
    provider = PROVIDERS[configured.provider]
    body = request.get_data(cache=False)  # raw bytes: the signature covers them exactly
    provider.authenticate(
        body,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=request.args.to_dict(),
        secrets=configured.secrets,
    )
    ingested = ingest(bridge.store, bridge.routes, source, body, now=time.time())
    event, routes = ingested.event, list(ingested.routes)
    extra = {"source": source, "event_id": event.id}
    if ingested.duplicate:
        log.info("duplicate %s ignored", event.type, extra=extra)
        return jsonify(status="duplicate", event_id=event.id), 200
    if bridge.metrics is not None:
        bridge.metrics.observe_event(source, event.type)
    if routes:
        bridge.dispatcher.wake()
    log.info("accepted %s → %s", event.type, ", ".join(routes) or "(no route)", extra=extra)
    return jsonify(status="accepted", event_id=event.id, routes=routes), 202


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        state().store.ping()
    except StoreUnavailableError as exc:
        log.error("health check: %s", exc)
        return jsonify(status="unavailable", error="store unavailable"), 503
    return jsonify(status="ok"), 200


def _request_error(exc: RequestError) -> tuple[Response, int]:
    log.info(
        "refused %s %s: %s", request.method, request.path, exc.message, extra={"status": exc.status}
    )
    return jsonify(error=exc.message), exc.status


def _store_unavailable(exc: StoreUnavailableError) -> tuple[Response, int]:
    log.error("store unavailable while handling %s: %s", request.path, exc)
    response = jsonify(error="storage is unavailable; the event was not stored, retry later")
    response.headers["Retry-After"] = "5"
    return response, 503


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    message = exc.description or exc.name
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"request body is larger than the {limit}-byte limit"
    return jsonify(error=message), status


def _unexpected(exc: Exception) -> tuple[Response, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return jsonify(error="internal error"), 500


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(RequestError, _request_error)
    app.register_error_handler(StoreUnavailableError, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
