"""The operator's side of the app, registered by the factory: the delivery log and the
payload tester (behind :mod:`bridge.admin_auth`), ``/metrics`` and ``/readyz``."""

from __future__ import annotations

from flask import Flask

from bridge import metrics
from bridge.ui import auth as admin_auth
from bridge.ui import delivery_log as deliveries_page
from bridge.ui import filters as page_format
from bridge.ui import payload_tester, probes


def register(app: Flask, counters: metrics.Metrics) -> None:
    app.jinja_env.autoescape = True  # every template, whatever its name: payloads are hostile
    page_format.register(app)
    admin_auth.configure(app)
    app.register_blueprint(deliveries_page.bp)
    app.register_blueprint(payload_tester.bp)
    app.register_blueprint(probes.bp)
    metrics.register(app, counters)
