"""HTTP: ``POST /webhooks/<source>`` and ``GET /healthz`` (docs/architecture.md, "Contract: HTTP").

verify (raw bytes) → normalize → match → store → 202, one direction. Every refusal is a JSON
``{"error": …}`` with a 4xx status; a store outage is a 503 so the sender retries; nothing a
client sends produces a 5xx (the error handlers are :mod:`bridge.app`'s).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.errors import StoreUnavailableError, UnknownSourceError
from bridge.intake.freshness import check_fresh
from bridge.intake.ingest import parse, record
from bridge.intake.runs import follow
from bridge.providers import PROVIDERS
from bridge.services import current_services

log = logging.getLogger(__name__)
bp = Blueprint("bridge", __name__)


@bp.post("/webhooks/<source>")
def receive(source: str) -> tuple[Response, int]:
    services = current_services()
    configured = services.routes.sources.get(source)
    if configured is None:
        raise UnknownSourceError(f"unknown source {source!r}")
    provider = PROVIDERS[configured.provider]
    body = read_body(services.settings.max_body_bytes)  # the signature covers these bytes
    secrets = configured.secrets
    headers = {k.lower(): v for k, v in request.headers.items()}
    provider.authenticate(body, headers=headers, query=request.args.to_dict(), secrets=secrets)
    if (wait := services.budgets.admit(source, len(body))) is not None:
        response = jsonify(error=f"source {source!r} is over its limit (routes.yaml); retry later")
        response.headers["Retry-After"] = str(wait)
        return response, 429
    now = time.time()
    parsed = parse(services.routes, source, body, headers=headers)
    check_fresh(parsed, configured.max_age, now)
    ingested = record(services.store, services.routes, parsed, body, now=now)
    event, routes = ingested.event, list(ingested.routes)
    # A workflow_run reports on a run bridge started (also when redelivered: idempotent).
    follow(services.store, event, now=now, metrics=services.metrics, alerter=services.alerter)
    extra = {"source": source, "event_id": event.id}
    if ingested.duplicate:
        log.info("duplicate %s ignored", event.type, extra=extra)
        return jsonify(status="duplicate", event_id=event.id), 200
    services.metrics.observe_event(source, event.type)
    if routes:
        services.dispatcher.wake()
    log.info("accepted %s → %s", event.type, ", ".join(routes) or "(no route)", extra=extra)
    return jsonify(status="accepted", event_id=event.id, routes=routes), 202


def read_body(limit: int) -> bytes:
    """The raw body, or RequestEntityTooLarge (413) when it is over ``limit`` bytes.

    With a Content-Length, Werkzeug refuses a declared length over the limit before reading.
    Without one (``Transfer-Encoding: chunked``), its limited stream stops quietly at the limit
    and the prefix would be verified as if it were the body: so read one byte more than the
    limit, and refuse the body when that byte is there."""
    if request.content_length is not None:
        return request.get_data(cache=False)
    stream = request.environ["wsgi.input"]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        current_services().store.ping()
    except StoreUnavailableError as exc:
        log.error("health check: %s", exc)
        response = jsonify(status="unavailable", error="store unavailable")
        response.headers["Retry-After"] = "5"
        return response, 503
    return jsonify(status="ok"), 200


def _nosniff(response: Response) -> Response:
    """Every answer is what its Content-Type says (JSON, never sniffed as HTML)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_nosniff)
