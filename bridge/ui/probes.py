"""``GET /readyz``: ready to take webhooks and deliver them (``/healthz``, in
:mod:`bridge.intake.endpoint`, is the contract's store check). For platform health checks and
load balancers: no token, no detail beyond which check failed."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from bridge.appstoreconnect.key_health import refused_key
from bridge.errors import StoreUnavailableError
from bridge.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the store answers, routes.yaml is loaded with at least one source, and the
    dispatcher runs (when this process runs one); 503 naming the checks that failed. A
    ready answer lists ``warnings`` when routes still target an example placeholder;
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
    if refused is not None:  # still taking webhooks and delivering, without details
        return jsonify(status="degraded", reasons=[refused]), 200
    warnings = list(services.routes.placeholders)
    if warnings:  # ready, but deliveries to an example repository would fail
        return jsonify(status="ready", warnings=warnings), 200
    return jsonify(status="ready"), 200
