"""``bridge serve`` and ``bridge worker``: the two process types (Procfile ``web``/``worker``)."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click
from gunicorn.app.wsgiapp import WSGIApplication

from bridge import logs
from bridge.app import asc_api, github_sender
from bridge.appstoreconnect.reconcile_job import ReconcileJob
from bridge.cli import common as commands
from bridge.delivery.dispatcher import Dispatcher
from bridge.errors import ConfigError


@click.command()
@click.option("--host", default=None, help="Interface to bind (default $HOST or 0.0.0.0).")
@click.option("--port", type=int, default=None, help="Port (default $PORT or 8000).")
@click.option(
    "--workers", type=int, default=None, help="Processes (default $WEB_CONCURRENCY or 2)."
)
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the web service under gunicorn, exactly as the Procfile does."""
    settings = commands.settings()
    routes = commands.routes(settings)  # fail here, once and clearly, not in every worker
    try:
        github_sender(settings, dispatches=bool(routes.routes))
        asc_api(settings, routes)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    commands.store(settings).close()  # a bad DATABASE_URL fails here; migrations run once
    for var, value in (("HOST", host), ("PORT", port), ("WEB_CONCURRENCY", workers)):
        if value is not None:
            os.environ[var] = str(value)
    # gunicorn's own command line, run in this process: the modules imported by the checks
    # above are inherited by every forked worker, which then boots in milliseconds.
    sys.argv = ["gunicorn", "-c", "python:bridge.gunicorn_conf", "bridge:create_app()"]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="bridge serve").run()


@click.command()
def worker() -> None:
    """Run only the dispatcher: deliver queued events, serve no HTTP."""
    logs.configure()
    settings = commands.settings()
    routes = commands.routes(settings)
    try:
        sender = github_sender(settings, dispatches=bool(routes.routes))
        asc = asc_api(settings, routes)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    store = commands.store(settings)
    dispatcher = Dispatcher(store=store, routes=routes, sender=sender, settings=settings, asc=asc)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher.start()
    reconciler = ReconcileJob(asc, store, routes, settings, dispatcher.wake) if asc else None
    if reconciler is not None:
        reconciler.start()
    mode = "dry run, nothing is sent" if sender is None else f"sending to {settings.github_api_url}"
    click.echo(f"bridge worker {dispatcher.owner}: {mode}")
    stop.wait()
    if reconciler is not None:
        reconciler.stop()
    dispatcher.stop()
    store.close()
