"""The outbox worker: claim due deliveries, render, send (to GitHub or a chat / HTTP target),
record, schedule retries. One runs in each web process (woken at once when an event is
stored) and/or as ``bridge worker``. Claims are leases, so several dispatchers share one store
safely and a delivery whose dispatcher died is claimed again when its lease expires."""

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

from bridge.appstoreconnect.errors import AscTransientError
from bridge.config import Settings
from bridge.delivery.backoff import next_attempt
from bridge.delivery.context import ContextBuilder
from bridge.delivery.github_holdback import GitHubHoldback
from bridge.delivery.github_pacing import pacing_plan
from bridge.delivery.leases import LeaseLostError, fence, wait_keeping_leases
from bridge.delivery.outage import OUTAGE_MAX_PAUSE, OUTAGE_THRESHOLD
from bridge.delivery.outgoing import Sender, render, send
from bridge.delivery.retention import housekeeping
from bridge.delivery.wakes import Wakes
from bridge.errors import PermanentSendError, RenderError, StoreUnavailableError, TransientSendError
from bridge.metrics import Metrics
from bridge.notify.alerts import Alerter, FailedDelivery, alert_failed
from bridge.notify.client import Notifier
from bridge.notify.request import NotifyRequest
from bridge.routing.model import RoutesConfig
from bridge.store import AttemptResult, Claim, Outbox, StuckDeliveries

__all__ = ["OUTAGE_MAX_PAUSE", "OUTAGE_THRESHOLD", "DispatchStore", "Dispatcher", "Sender"]
log = logging.getLogger(__name__)
PRUNE_INTERVAL = 3600.0  # seconds between automatic prunes (BRIDGE_RETENTION)


class DispatchStore(Outbox, StuckDeliveries, Protocol):
    """What the dispatcher asks of the store: the outbox, and stuck deliveries (alerts)."""


class Dispatcher:
    def __init__(
        self,
        *,
        store: DispatchStore,
        routes: RoutesConfig,
        sender: Sender | None,
        settings: Settings,
        contexts: ContextBuilder,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        notifier: Notifier | None = None,
        alerter: Alerter | None = None,
    ) -> None:
        """``sender`` (GitHub) and ``notifier`` (chat and HTTP targets) None mean dry-run for
        their deliveries: requests are rendered and recorded, never sent. ``contexts``: what
        each delivery's templates see (App Store Connect details, review times).
        ``metrics``: where each attempt is counted. ``alerter``: told of every delivery that
        ends ``failed``, and asked to look for stuck ones."""
        self.store = store
        self.notifier = notifier
        self.alerter = alerter
        self.contexts = contexts
        self.metrics = metrics
        self.routes = routes
        self.sender = sender
        self.settings = settings
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wakes = Wakes(self._stop)  # stored events, and floods of them
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=settings.dispatch_concurrency, thread_name_prefix="bridge-send"
        )
        self._holdback = GitHubHoldback(metrics)  # rate limit or outage: every delivery
        # GitHub's secondary limits, counted in the store across dispatchers.
        self.pacing = pacing_plan(routes, settings, sending=sender is not None)
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
        self._wakes.set()

    def stop(self, timeout: float = 20.0) -> None:
        """Finish the attempts in flight, then stop. Idempotent."""
        self._stop.set()
        self._wakes.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)

    def run(self) -> None:
        """Loop until :meth:`stop`: drain what is due, then sleep until woken or due."""
        while not self._stop.is_set():
            busy = False
            try:
                self.prune_if_due()
                if self.alerter is not None:
                    self.alerter.check_stuck(self.store)
                busy = self.run_once() > 0
            except StoreUnavailableError as exc:
                log.warning("store unavailable, will retry: %s", exc)
            except Exception:
                log.exception("dispatcher loop error")
            if busy:
                self._wakes.sent()
            else:
                self._wakes.wait(self._idle_seconds())

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
        if self._holdback.paused_until > now:
            return min(self._holdback.paused_until - now, wait)
        try:
            due = self.store.next_due_at(now=now, pacing=self.pacing)
        except StoreUnavailableError:
            return wait
        if due is not None:
            wait = min(wait, max(due - now, 0.01))
        return wait

    # -- one round --------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim what is due now and attempt it; returns how many deliveries were attempted."""
        now = self.clock()
        if self._holdback.paused_until > now or self._stop.is_set():
            return 0
        lease = self.settings.lease_seconds
        claims = self.store.claim_due(
            owner=self.owner,
            now=now,
            lease=lease,
            limit=1 if self.in_outage else self.settings.dispatch_concurrency,
            pacing=self.pacing,
        )
        running = {self._pool.submit(self._attempt, claim): claim for claim in claims}
        wait_keeping_leases(self.store, running, lease=lease, clock=self.clock)
        return len(claims)

    def _attempt(self, claim: Claim) -> None:
        started = self.clock()
        t0 = time.perf_counter()
        extra: dict[str, object] = {
            "event_id": claim.event.id,
            "source": claim.event.source,
            "route": claim.route,
            "delivery_id": claim.delivery_id,
            "attempt": claim.attempts + 1,
        }
        try:
            result = self._send(claim, started)
        except LeaseLostError:
            # Its lease ran out and another claim holds the delivery (or it was replayed):
            # that one sends it; recording nothing here keeps its history true.
            log.warning("lease lost before sending: not sent, no attempt recorded", extra=extra)
            return
        extra["status"] = result.status
        result = replace(result, duration_ms=round((time.perf_counter() - t0) * 1000, 3))
        if result.request is not None and result.request.get("kind") != "notify":
            self._holdback.track(result, started)  # GitHub was asked (not a chat, not a failure)
        if not self.store.finish(claim.delivery_id, owner=claim.lease_owner, result=result):
            log.warning("lease lost before the attempt was recorded", extra=extra)
        elif result.outcome == "failed" and self.alerter is not None:
            event, reason = claim.event, result.message or f"HTTP {result.status}"
            failed = FailedDelivery(claim.route, event.source, event.id, event.type, reason)
            alert_failed(self.alerter, replace(failed, delivery_id=claim.delivery_id))
        if self.metrics is not None:
            self.metrics.observe_result(result)
        level = logging.WARNING if result.outcome in ("retry", "failed") else logging.INFO
        # A failed delivery no longer holds back later ones of its instance (claim_due): say so.
        released = result.outcome == "failed" and claim.event.instance is not None
        message = (result.message or "") + (" (later ones go out without it)" if released else "")
        log.log(level, "delivery %s: %s", result.outcome, message, extra=extra)

    @property
    def in_outage(self) -> bool:
        """GitHub has failed OUTAGE_THRESHOLD times in a row: sending one probe at a time."""
        return self._holdback.outage.in_outage

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
            request = render(
                self.routes, claim.route, route, claim.event, delivery_id=claim.delivery_id,
                context=context, log_url=self.settings.log_url(claim.event.source, claim.event.id),
            )  # fmt: skip
        except RenderError as exc:
            return AttemptResult("failed", started, 0.0, message=f"cannot render: {exc}")
        sent = request.as_dict()
        if (self.notifier if isinstance(request, NotifyRequest) else self.sender) is None:
            return AttemptResult("dry_run", started, 0.0, message="dry run: not sent", request=sent)

        def fenced() -> None:  # right before sending: a lease taken over sends nothing
            fence(self.store, claim, until=self.clock() + self.settings.lease_seconds)

        try:
            answer = send(
                request, key=claim.route, routes=self.routes, sender=self.sender,
                notifier=self.notifier, before_send=fenced,
            )  # fmt: skip
        except LeaseLostError:
            raise
        except PermanentSendError as exc:
            return AttemptResult("failed", started, 0.0, exc.status, exc.message, sent)
        except TransientSendError as exc:
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
        github = sent is not None and sent.get("kind") != "notify"  # a chat's 429 is its own
        if retry_after is not None and status in (403, 429) and github:
            self._holdback.rate_limited(started, retry_after)
        return next_attempt(
            claim, self.settings, started=started, status=status, message=message, sent=sent,
            retry_after=retry_after,
        )  # fmt: skip
