"""The periodic catch-up (``BRIDGE_RECONCILE_INTERVAL``, off by default): :func:`reconcile`
over the last ``BRIDGE_RECONCILE_WINDOW``, in one process at a time across the deployment
(the store's job lease, so any number of web and worker processes can start it)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.reconcile import reconcile
from bridge.appstoreconnect.reconcile_report import ReconcileReport
from bridge.config import Settings
from bridge.errors import StoreUnavailableError
from bridge.routing.model import RoutesConfig
from bridge.store import EventIntake, JobLeases

log = logging.getLogger(__name__)
JOB = "reconcile"
MAX_TICK = 60.0  # the job looks at least this often whether its lease is due


class ReconcileStore(EventIntake, JobLeases, Protocol):
    """What the job needs of the store: its lease, and a way in for recovered events."""


class ReconcileJob:
    """Reconcile every ``settings.reconcile_interval`` seconds over the last
    ``settings.reconcile_window``, in one process across the deployment (the store's job
    lease). ``on_recovered`` is called after a run that stored new events (wake the
    dispatcher). Does nothing when the interval is not set."""

    def __init__(
        self,
        client: AscClient,
        store: ReconcileStore,
        routes: RoutesConfig,
        settings: Settings,
        on_recovered: Callable[[], None] = lambda: None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.routes = routes
        self.settings = settings
        self.on_recovered = on_recovered
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tried = False  # whether this process has tried to run the job yet

    @property
    def interval(self) -> float | None:
        return self.settings.reconcile_interval

    def start(self) -> None:
        """Start the thread (a no-op when the interval is not set, or already started)."""
        if self.interval and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self.run, name="bridge-reconcile", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop after the run in progress, if any. Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def run(self) -> None:
        """Loop until :meth:`stop`: try to take the lease, reconcile when granted."""
        tick = min(self.interval or MAX_TICK, MAX_TICK)
        while not self._stop.is_set():
            try:
                self.run_once(self.clock())
            except StoreUnavailableError as exc:
                log.warning("reconcile: store unavailable, will retry: %s", exc)
            except Exception:
                log.exception("reconcile job error")
            self._stop.wait(tick)

    def run_once(self, now: float) -> ReconcileReport | None:
        """Reconcile the window ending at ``now`` if this process gets the lease; None when
        the job is off, not due, or another process holds it. A process's first try runs
        unless a run ended less than MAX_TICK ago: a restart catches up at once.
        Raises StoreUnavailableError."""
        interval = self.interval
        if not interval:
            return None
        every = interval if self._tried else min(interval, MAX_TICK)
        self._tried = True
        if not self.store.lease_job(JOB, owner=self.owner, now=now, every=every):
            return None
        result = "error: interrupted"
        try:
            since = now - self.settings.reconcile_window
            report = reconcile(
                self.client, self.store, self.routes, since=since, now=now,
                retention=self.settings.retention,
            )  # fmt: skip
            result = report.result()
            self._log(report)
        except Exception as exc:
            result = f"error: {type(exc).__name__}: {exc}"
            raise
        finally:
            self._finish(result)
        if report.recovered:
            self.on_recovered()
        return report

    def _finish(self, result: str) -> None:
        try:
            self.store.finish_job(JOB, owner=self.owner, now=self.clock(), result=result)
        except StoreUnavailableError as exc:  # the lease expires on its own
            log.warning("reconcile: cannot record the run: %s", exc)

    @staticmethod
    def _log(report: ReconcileReport) -> None:
        for part in report.sources:
            if part.error:
                log.warning(
                    "reconcile %s: %s", part.source, part.error, extra={"source": part.source}
                )
            for r in part.recovered:
                log.warning(
                    "reconcile: recovered %s whose webhook delivery had failed → %s",
                    r.type,
                    ", ".join(r.routes) or "(no route)",
                    extra={
                        "source": part.source,
                        "event_id": r.event_id,
                        "delivery_id": r.delivery_id,
                    },
                )
            for u in part.unreadable:
                log.warning(
                    "reconcile: unreadable delivery %s: %s",
                    u.delivery_id,
                    u.reason,
                    extra={"source": part.source},
                )
        level = logging.WARNING if report.recovered else logging.INFO
        log.log(level, "reconcile: %s", report.result(errors=False))
