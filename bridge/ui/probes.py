"""``GET /readyz``: ready to take webhooks and deliver them (``/healthz``, in ``web.py``, is the
contract's store check). For platform health checks and load balancers: no token, no detail
beyond which check failed."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify

from bridge.errors import StoreUnavailableError
from bridge.intake.endpoint import state

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the store answers, routes.yaml is loaded with at least one source, and the
    dispatcher runs (when this process runs one); 503 naming the checks that failed."""
    bridge = state()
    failed = []
    try:
        bridge.store.ping()
    except StoreUnavailableError as exc:
        log.error("readiness: %s", exc)
        failed.append("store")
    if not bridge.routes.sources:
        failed.append("routes")
    if bridge.settings.dispatcher and not bridge.dispatcher.running:
        failed.append("dispatcher")
    if failed:
        return jsonify(status="unavailable", failed=failed), 503
    return jsonify(status="ready"), 200
