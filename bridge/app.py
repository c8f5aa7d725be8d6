"""The Flask app factory: the services (:mod:`bridge.services`), the webhook endpoint, the
operator's pages, and one error handler per exception family."""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from bridge import ui
from bridge.errors import RequestError, StoreUnavailableError
from bridge.intake import endpoint
from bridge.services import build_services
from bridge.startup import summary

log = logging.getLogger(__name__)


def create_app(
    config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the app: settings (defaults, then ``environ``/``os.environ``, then ``config``
    overrides by Settings field name), routes.yaml loaded and validated, store opened,
    dispatcher started (unless ``run_dispatcher`` is off).

    Raises ConfigError (invalid routes.yaml, missing GitHub credentials, `enrich` without an
    App Store Connect API key, bad DATABASE_URL): the app refuses to start rather than accept
    events it could not deliver.
    """
    services = build_services(environ, config)
    services.wait_for_store = True  # a database down at boot: 503s until it answers, no crash
    services.serves_requests = True  # connections kept open for the request threads
    for warning in services.routes.warnings:
        log.warning("routes: %s", warning)
    log.info("%s", summary(services.settings, services.routes, process="web"))
    try:
        services.build()
    except BaseException:
        services.close()
        raise
    app = Flask("bridge", template_folder="ui/templates", static_folder="ui/static")
    app.config["MAX_CONTENT_LENGTH"] = services.settings.max_body_bytes
    if hops := services.settings.proxy_hops:
        # The client's address and scheme as the platform's router saw them, trusting exactly
        # that many proxies' X-Forwarded-For / X-Forwarded-Proto (a client's own are ignored).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.extensions["bridge"] = services
    endpoint.register(app)
    ui.register(app, services)
    app.register_error_handler(RequestError, _request_error)
    app.register_error_handler(StoreUnavailableError, _store_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    if services.settings.run_dispatcher:
        services.start()
    atexit.register(services.close)
    return app


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
        limit = request.max_content_length
        message = f"request body is larger than the {limit}-byte limit"
    return jsonify(error=message), status


def _unexpected(exc: Exception) -> tuple[Response, int]:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return jsonify(error="internal error"), 500
