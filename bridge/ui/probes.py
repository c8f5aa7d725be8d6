"""``GET /readyz``: ready to take webhooks and deliver them (``/healthz``, in
:mod:`bridge.intake.endpoint`, is the contract's store check). For platform health checks and
load balancers: no token, no detail beyond which check failed."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, jsonify

from bridge.appstoreconnect.key_health import refused_key
from bridge.delivery.credential_watch import credential_warnings
from bridge.errors import StoreUnavailableError
from bridge.intake.silence import quiet_sources
from bridge.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the store answers, routes.yaml is loaded with at least one source, and the
    dispatcher runs (when this process runs one); 503 naming the checks that failed. A
    ready answer lists ``warnings``: routes that still target an example placeholder, sources
    silent for longer than their ``silent_after``, credentials refused or about to expire.
    ``degraded`` (still 200: webhooks are taken and delivered) names ``reasons``, such as App
    Store Connect refusing the API key."""
    services = current_services()
    failed = []
    refused = None
    try:
        services.store.ping()
        refused = refused_key(services.store)
    except StoreUnavailableError as exc:
        log.error("readiness: %s", exc)
        failed.append("store")
    if not services.routes.sources:
        failed.append("routes")
    if services.settings.run_dispatcher and not services.dispatcher.running:
        failed.append("dispatcher")
    if failed:
        return jsonify(status="unavailable", failed=failed), 503
    # Silent sources and failing credentials do not make an instance unready (it would be
    # taken out of rotation, and the webhooks that still arrive refused): they are warnings.
    now = time.time()
    try:
        quiet = quiet_sources(
            services.routes, services.store, now=now, started_at=services.started_at
        )
        credentials = services.store.credential_states()
    except StoreUnavailableError:
        quiet, credentials = [], []
    warnings = list(services.routes.placeholders)  # deliveries to an example would fail
    warnings += [q.describe() for q in quiet if q.silent]
    warnings += credential_warnings(credentials, now=now)
    answer: dict[str, object] = {"status": "ready"}
    if refused is not None:  # still taking webhooks and delivering, without details
        answer = {"status": "degraded", "reasons": [refused]}
    if warnings:
        answer["warnings"] = warnings
    return jsonify(answer), 200
