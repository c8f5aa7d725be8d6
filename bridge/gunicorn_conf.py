"""gunicorn settings for production (Procfile, ``bridge serve``): ``gunicorn -c
python:bridge.gunicorn_conf "bridge:create_app()"``. https://docs.gunicorn.org/en/stable/settings.html

Read through :class:`bridge.config.Settings`: ``PORT`` (Heroku/Render set it), ``HOST``,
``WEB_CONCURRENCY`` (workers), ``GUNICORN_THREADS``; and ``PROMETHEUS_MULTIPROC_DIR``
(default: a fresh temporary folder).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

from bridge import logs
from bridge.config import Settings
from bridge.errors import ConfigError
from bridge.routes_keeper import RoutesKeeper

if TYPE_CHECKING:
    from gunicorn.workers.base import Worker

try:
    _settings = Settings.from_env()
except ConfigError as exc:  # one clear line, not gunicorn's "Failed to read config file" trace
    logs.refuse_to_start(str(exc))
    raise SystemExit(1) from None
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_concurrency
threads = _settings.threads
# gthread, with every request read whole in the event loop before a thread serves it, so that
# slow clients hold no thread (bridge/gunicorn_worker.py, docs/security.md).
worker_class = "bridge.gunicorn_worker.BufferingThreadWorker"
worker_connections = 1000  # per worker: connections open at once, slow ones included
timeout = 30
graceful_timeout = 25  # lets the dispatcher finish attempts in flight (Heroku waits 30 s)
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = logs.ACCESS_LOG_FORMAT  # the path without the query string
# gunicorn >= 25.1 opens a management socket in $XDG_RUNTIME_DIR or ~/.gunicorn by default:
# bridge does not use it, and two instances on one host would fight over the path.
control_socket_disable = True
logger_class = logs.GunicornLogger

# /metrics adds up every worker's counters from files in this folder (bridge.metrics). Set
# before any worker imports prometheus_client, which reads it once, at import.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bridge-metrics-")

logs.configure()
_ROUTES = RoutesKeeper()  # the last valid routes.yaml, for reloads


def on_starting(server: object) -> None:
    """Check the configuration once, in the master: settings, routes.yaml and credentials
    (not the database). A problem is logged once, one line per problem (JSON with
    ``LOG_FORMAT=json``), and the master exits 1, instead of every worker printing a
    traceback. Then a metrics folder left by a previous run is emptied: its counts are not
    this run's. (The app's modules are already imported here, in the master, with this file's
    ``from bridge import logs``: forked workers inherit them and boot fast. Importing starts
    nothing: ``create_app()`` runs in each worker, after the fork.)"""
    try:
        _ROUTES.check()
    except ConfigError as exc:
        logs.refuse_to_start(str(exc))
        raise SystemExit(1) from None
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def on_reload(server: object) -> None:
    """``kill -HUP``: a routes.yaml with problems is logged and the new workers keep the
    routes in use, instead of failing to boot (which halts gunicorn)."""
    _ROUTES.reload()


def child_exit(server: object, worker: Worker) -> None:
    """A worker's counters stay counted; its live gauges (none today) would go."""
    from prometheus_client import multiprocess  # noqa: PLC0415

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: object) -> None:
    _ROUTES.close()
    if _OWN_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def worker_exit(server: object, worker: Worker) -> None:
    """A worker's loop has ended (SIGTERM, a reload): stop its dispatcher and close its store
    now, while Python still runs normally. Left to ``atexit``, the dispatcher would go on
    claiming while the interpreter shuts its thread pools down."""
    app = getattr(worker, "wsgi", None)
    services = getattr(app, "extensions", {}).get("bridge")
    if services is not None:
        services.close()
