"""The outbox worker: claim due deliveries, render, send to GitHub, record, schedule retries.

One runs in each web process (woken at once when an event is stored) and/or as
``bridge worker``. Claims are leases, so several dispatchers share one store safely and a
delivery whose dispatcher died is claimed again when its lease expires (at-least-once).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

from bridge.appstoreconnect.client import AscTransientError
from bridge.config import Settings
from bridge.delivery.backoff import retry_delay
from bridge.delivery.context import ContextBuilder
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github import DispatchResult, PermanentGitHubError, TransientGitHubError
from bridge.delivery.rendering import build_request
from bridge.delivery.retention import housekeeping
from bridge.errors import RenderError, StoreUnavailableError
from bridge.metrics import Metrics
from bridge.routing.model import RoutesConfig
from bridge.store import AttemptResult, Claim, Outbox

log = logging.getLogger(__name__)
PRUNE_INTERVAL = 3600.0  # seconds between automatic prunes (BRIDGE_RETENTION)
# GitHub unreachable or answering 5xx this many times in a row: stop sending for a while, then
# probe with one delivery (1 s, 2 s, 4 s … up to OUTAGE_MAX_PAUSE between probes). Without
# this, every pending delivery keeps its own schedule and a backlog hammers a GitHub outage.
OUTAGE_THRESHOLD = 3
OUTAGE_MAX_PAUSE = 60.0


class Sender(Protocol):
    def dispatch(self, request: DispatchRequest) -> DispatchResult: ...


class Dispatcher:
    def __init__(
        self,
        *,
        store: Outbox,
        routes: RoutesConfig,
        sender: Sender | None,
        settings: Settings,
        contexts: ContextBuilder,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        """``sender`` None means dry-run: requests are rendered and recorded, never sent.
        ``contexts``: what each delivery's templates see (App Store Connect details, review
        times). ``metrics``: where each attempt is counted."""
        self.store = store
        self.contexts = contexts
        self.metrics = metrics
        self.routes = routes
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=settings.dispatch_concurrency, thread_name_prefix="bridge-send"
        )
        self._paused_until = 0.0  # rate limit or outage: applies to every delivery
        self._outage_failures = 0  # consecutive 5xx / network failures
        self._outage_lock = threading.Lock()
        self._next_prune = 0.0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="bridge-dispatcher", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        """The dispatcher thread is alive (readiness: a dead one would leave events unsent)."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """New deliveries were stored: look now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 20.0) -> None:
        """Finish the attempts in flight, then stop. Idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)

    def run(self) -> None:
        """Loop until :meth:`stop`: drain what is due, then sleep until woken or due."""
        while not self._stop.is_set():
            try:
                self.prune_if_due()
                busy = self.run_once() > 0
            except StoreUnavailableError as exc:
                log.warning("store unavailable, will retry: %s", exc)
                busy = False
            except Exception:
                log.exception("dispatcher loop error")
                busy = False
            if not busy:
                self._wake.wait(self._idle_seconds())
                self._wake.clear()

    def prune_if_due(self) -> int:
        """Hourly: prune what ``BRIDGE_RETENTION`` and ``BRIDGE_UNROUTED_RETENTION`` no longer
        keep, and check the database's size (bridge.delivery.retention). Failed deliveries
        are kept (``bridge prune --include-failed`` removes them)."""
        now = self.clock()
        if now < self._next_prune:
            return 0
        self._next_prune = now + PRUNE_INTERVAL
        return housekeeping(self.store, self.settings, now)

    def _idle_seconds(self) -> float:
        now = self.clock()
        wait = self.settings.poll_interval
        if self._paused_until > now:
            return min(self._paused_until - now, wait)
        try:
            due = self.store.next_due_at()
        except StoreUnavailableError:
            return wait
        if due is not None:
            wait = min(wait, max(due - now, 0.01))
        return wait

    # -- one round --------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim what is due now and attempt it; returns how many deliveries were attempted."""
        now = self.clock()
        if self._paused_until > now or self._stop.is_set():
            return 0
        claims = self.store.claim_due(
            owner=self.owner,
            now=now,
            lease=self.settings.lease_seconds,
            limit=1 if self.in_outage else self.settings.dispatch_concurrency,
        )
        for _ in self._pool.map(self._attempt, claims):
            pass
        return len(claims)

    def _attempt(self, claim: Claim) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        result = self._send(claim, started)
        extra = {
            "event_id": claim.event.id,
            "source": claim.event.source,
            "route": claim.route,
            "delivery_id": claim.delivery_id,
            "attempt": claim.attempts + 1,
            "status": result.status,
        }
        result = _with_duration(result, (time.perf_counter() - t0) * 1000)
        if result.request is not None:  # GitHub was asked (not an enrichment or render failure)
            self._track_outage(result, started)
        if not self.store.finish(claim.delivery_id, owner=self.owner, result=result):
            log.warning("lease lost before the attempt was recorded", extra=extra)
        if self.metrics is not None:
            self.metrics.observe_attempt(result.outcome, result.duration_ms / 1000)
        level = logging.WARNING if result.outcome in ("retry", "failed") else logging.INFO
        log.log(level, "delivery %s: %s", result.outcome, result.message or "", extra=extra)

    @property
    def in_outage(self) -> bool:
        """GitHub has failed OUTAGE_THRESHOLD times in a row: sending one probe at a time."""
        return self._outage_failures >= OUTAGE_THRESHOLD

    def _track_outage(self, result: AttemptResult, started: float) -> None:
        outage = result.outcome == "retry" and (result.status is None or result.status >= 500)
        with self._outage_lock:
            if not outage:
                if self.in_outage and result.outcome == "delivered":
                    log.info("GitHub answers again: sending resumes")
                self._outage_failures = 0
                return
            self._outage_failures += 1
            if not self.in_outage:
                return
            pause = min(OUTAGE_MAX_PAUSE, 2.0 ** (self._outage_failures - OUTAGE_THRESHOLD))
            self._paused_until = max(self._paused_until, started + pause)
            log.warning(
                "GitHub failing (%d in a row): next probe in %.0f s",
                self._outage_failures,
                pause,
            )

    def _send(self, claim: Claim, started: float) -> AttemptResult:
        route = self.routes.route(claim.route)
        if route is None:
            return AttemptResult(
                "failed", started, 0.0, message=f"route {claim.route!r} is not in routes.yaml"
            )
        try:
            context = self.contexts.for_delivery(claim.event, route, claim.details)
        except AscTransientError as exc:
            message = f"App Store Connect details: {exc.message}"
            later = self._retry(
                claim, started=started, status=exc.status, message=message, sent=None,
                retry_after=exc.retry_after,
            )  # fmt: skip
            if later.outcome == "retry":
                return later
            # Past the retry horizon: waiting would lose the dispatch, send it without details.
            context = self.contexts.for_delivery(
                claim.event, route, claim.details, unavailable=message
            )
        except Exception as exc:  # a bug or a store outage must not lose the delivery
            log.exception("cannot prepare delivery %s", claim.delivery_id)
            message = f"{type(exc).__name__}: {exc}"
            return self._retry(
                claim, started=started, status=None, message=message, sent=None, retry_after=None
            )
        try:
            request = build_request(
                route, claim.event, delivery_id=claim.delivery_id, context=context
            )
        except RenderError as exc:
            return AttemptResult("failed", started, 0.0, message=f"cannot render: {exc}")
        sent = request.as_dict()
        if self.sender is None:
            return AttemptResult("dry_run", started, 0.0, message="dry run: not sent", request=sent)
        try:
            answer = self.sender.dispatch(request)
        except PermanentGitHubError as exc:
            return AttemptResult("failed", started, 0.0, exc.status, exc.message, sent)
        except TransientGitHubError as exc:
            return self._retry(
                claim, started=started, status=exc.status, message=exc.message, sent=sent,
                retry_after=exc.retry_after,
            )  # fmt: skip
        except Exception as exc:  # a bug must not lose the delivery: retry it, loudly
            log.exception("unexpected error sending delivery %s", claim.delivery_id)
            message = f"{type(exc).__name__}: {exc}"
            return self._retry(
                claim, started=started, status=None, message=message, sent=sent, retry_after=None
            )
        return AttemptResult(
            "delivered", started, 0.0, answer.status, answer.response or None, sent,
            run_id=answer.run_id, run_url=answer.run_url,
        )  # fmt: skip

    def _retry(
        self,
        claim: Claim,
        *,
        started: float,
        status: int | None,
        message: str,
        sent: dict[str, object] | None,
        retry_after: float | None,
    ) -> AttemptResult:
        failed = claim.attempts + 1
        delay = retry_delay(failed, cap=self.settings.retry_max_delay, retry_after=retry_after)
        if retry_after is not None and status in (403, 429) and sent is not None:
            self._paused_until = max(self._paused_until, started + retry_after)
        next_at = started + delay
        if next_at - claim.queued_at > self.settings.retry_horizon:
            hours = self.settings.retry_horizon / 3600
            return AttemptResult(
                "failed", started, 0.0, status,
                f"gave up after {failed} attempts over {hours:g} h; last error: {message}", sent,
            )  # fmt: skip
        return AttemptResult("retry", started, 0.0, status, message, sent, next_attempt_at=next_at)


def _with_duration(result: AttemptResult, duration_ms: float) -> AttemptResult:
    return replace(result, duration_ms=round(duration_ms, 3))
