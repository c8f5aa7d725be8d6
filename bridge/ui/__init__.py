"""The operator's side of the app, registered by the factory: the delivery log and the
payload tester (behind :mod:`bridge.ui.auth`), ``/metrics`` and ``/readyz``."""

from __future__ import annotations

from flask import Flask

from bridge.services import Services
from bridge.ui import auth, delivery_log, filters, metrics_endpoint, payload_tester, probes


def register(app: Flask, services: Services) -> None:
    app.jinja_env.autoescape = True  # every template, whatever its name: payloads are hostile
    filters.register(app)
    auth.configure(app, services.settings.admin_token)
    app.register_blueprint(delivery_log.bp)
    app.register_blueprint(payload_tester.bp)
    app.register_blueprint(probes.bp)
    metrics_endpoint.register(app, services.metrics)
