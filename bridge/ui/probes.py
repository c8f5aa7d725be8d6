"""``GET /readyz``: ready to take webhooks and deliver them (``/healthz``, in
:mod:`bridge.intake.endpoint`, is the contract's store check). For platform health checks and
load balancers: no token, no detail beyond which check failed."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, jsonify

from bridge.delivery.credential_watch import credential_warnings
from bridge.errors import StoreUnavailableError
from bridge.intake.silence import quiet_sources
from bridge.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("probes", __name__)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """200 when the store answers, routes.yaml is loaded with at least one source, and the
    dispatcher runs (when this process runs one), with ``warnings`` naming the sources silent
    for longer than their ``silent_after`` and the credentials refused or about to expire; 503
    naming the checks that failed."""
    services = current_services()
    failed = []
    try:
        services.store.ping()
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
    warnings = [q.describe() for q in quiet if q.silent]
    warnings += credential_warnings(credentials, now=now)
    if warnings:
        return jsonify(status="ready", warnings=warnings), 200
    return jsonify(status="ready"), 200
