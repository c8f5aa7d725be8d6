"""``bridge serve`` and ``bridge worker``: the two process types (Procfile ``web``/``worker``)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from gunicorn.app.wsgiapp import WSGIApplication

from bridge import logs
from bridge.cli import common as commands
from bridge.startup import summary

log = logging.getLogger("bridge.worker")


@contextmanager
def _refusing() -> Iterator[None]:
    """A process that cannot start says why in the log's format (one line, or one JSON object,
    per problem: log pipelines parse it) and exits 1."""
    try:
        yield
    except click.ClickException as exc:
        logs.refuse_to_start(exc.message)
        raise SystemExit(1) from None


@click.command()
@click.option("--host", default=None, help="Interface to bind (default $HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default $PORT or 8000).")
@click.option(
    "--workers", type=int, default=None, help="Processes (default $WEB_CONCURRENCY or 2)."
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web service under gunicorn, exactly as the Procfile does."""
    # fail here, once and clearly, not in every worker
    with _refusing(), commands.services(create=True) as services:
        services.wait_for_store = True  # a database down now: start anyway (bridge.store.deferred)
        services.check()  # credentials, DATABASE_URL; migrations run once
    for var, value in (("HOST", host), ("PORT", port), ("WEB_CONCURRENCY", workers)):
        if value is not None:
            os.environ[var] = str(value)
    # gunicorn's own command line, run in this process: the modules imported by the checks
    # above are inherited by every forked worker, which then boots in milliseconds.
    sys.argv = ["gunicorn", "-c", "python:bridge.gunicorn_conf", "bridge:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="bridge serve").run()


@click.command()
def worker() -> None:
    """Run only the dispatcher: deliver queued events, serve no HTTP. Its delivery attempts
    are counted in /metrics when it shares PROMETHEUS_MULTIPROC_DIR with the web processes of
    the same host."""
    logs.configure()
    with _refusing(), commands.services(create=True) as services:
        services.build()
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        services.start()
        for warning in services.routes.warnings:
            log.warning("routes: %s", warning)
        log.info("%s", summary(services.settings, services.routes, process="worker"))
        click.echo(f"bridge worker {services.dispatcher.owner}: started")
        stop.wait()
