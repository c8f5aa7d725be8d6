"""Alerts: tell a chat room when deliveries fail or are stuck, without waiting for someone
to open the delivery log (docs/architecture.md, "Contract: chat and HTTP targets, alerts").

* ``alerts.failed``: every delivery that ends ``failed`` is announced once, with its route,
  event, last answer and a link to its page in the delivery log. Other code announces its
  own failures (a GitHub run that ended ``failure``) through :func:`alert_failed`.
* ``alerts.stuck``: a delivery still not delivered after ``stuck_after``, or after
  ``STUCK_ATTEMPTS`` failed attempts, is announced once (the store marks it).
* Alerts are collected for ``window`` seconds before posting: more than ``DIGEST_AFTER`` of a
  kind become one digest (GitHub down: one message, not 500).
* An alert is not a delivery: one that cannot be posted is logged and counted
  (``bridge_alerts_total{outcome="failed"}``), never alerted about, so alerts cannot loop.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bridge.config import Settings
from bridge.metrics import Metrics
from bridge.notify.client import Notifier
from bridge.notify.message import Message, clip
from bridge.notify.render import build_message
from bridge.routing.model import RoutesConfig
from bridge.store import StuckDeliveries, StuckDelivery

log = logging.getLogger(__name__)
STUCK_ATTEMPTS = 3
DIGEST_AFTER = 3  # more alerts than this in one window: one digest
DIGEST_LINES = 10
WINDOW = 2.0  # seconds alerts are collected before posting
STUCK_CHECK_INTERVAL = 30.0

AlertKind = Literal["failed", "stuck"]


@dataclass(frozen=True, slots=True)
class FailedDelivery:
    """Something that ended badly and someone should hear of: a delivery that ended
    ``failed``, or a GitHub run that ended ``failure``/``cancelled``/``timed_out``."""

    route: str  # the delivery's route (``route/target`` for a notify delivery)
    source: str
    event_id: str
    event_type: str
    reason: str  # the last answer or error, already free of secrets
    delivery_id: str = ""
    what: str = "Delivery failed"  # the title's start, e.g. "Workflow run failed"
    url: str | None = None  # a page to link besides the delivery log (a run's page)


class Alerter:
    def __init__(
        self,
        routes: RoutesConfig,
        notifier: Notifier | None,
        settings: Settings,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        window: float = WINDOW,
    ) -> None:
        """``notifier`` None: dry run, alerts are logged, not posted."""
        self.routes = routes
        self.notifier = notifier
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.window = window
        self._queued: dict[AlertKind, list[Message]] = {"failed": [], "stuck": []}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_stuck_check = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.routes.alerts.failed or self.routes.alerts.stuck)

    def failed(self, item: FailedDelivery) -> None:
        """Queue the announcement of ``item`` on ``alerts.failed`` (nothing when unset)."""
        if self.routes.alerts.failed is None:
            return
        log_url = self.settings.log_url(item.source, item.event_id)
        facts = [("Route", item.route), ("Event", f"{item.event_type} {item.event_id}")]
        links = [(label, url) for label, url in (("Run", item.url), ("Delivery log", log_url))]
        message = Message(
            f"{item.what}: {item.route}",
            tuple(facts),
            clip(item.reason, 1500),
            tuple((label, url) for label, url in links if url),
            "bad",
        )
        self._queue("failed", message)

    def check_stuck(self, store: StuckDeliveries) -> int:
        """Announce, once each, the deliveries stuck now (at most every STUCK_CHECK_INTERVAL
        seconds; called from the dispatcher's loop). Returns how many were found."""
        stuck = self.routes.alerts.stuck
        now = self.clock()
        if stuck is None or now < self._next_stuck_check:
            return 0
        self._next_stuck_check = now + STUCK_CHECK_INTERVAL
        found = store.take_stuck(
            queued_before=now - self.routes.alerts.stuck_after,
            min_attempts=STUCK_ATTEMPTS,
            now=now,
            limit=500,
        )
        for item in found:
            self._queue("stuck", self._stuck_message(item, now))
        return len(found)

    def _stuck_message(self, item: StuckDelivery, now: float) -> Message:
        minutes = max(int((now - item.queued_at) // 60), 0)
        facts = (
            ("Route", item.route),
            ("Event", f"{item.event_type} {item.event_id}"),
            ("Waiting", f"{minutes} min, {item.attempts} attempt(s)"),
        )
        log_url = self.settings.log_url(item.source, item.event_id)
        links = (("Delivery log", log_url),) if log_url else ()
        reason = clip(item.last_error or "not attempted yet", 1500)
        return Message(f"Delivery not delivered yet: {item.route}", facts, reason, links, "bad")

    # -- posting ------------------------------------------------------------------------------

    def _queue(self, kind: AlertKind, message: Message) -> None:
        with self._lock:
            self._queued[kind].append(message)
            if self._thread is None and not self._stopping:
                self._thread = threading.Thread(target=self._run, name="bridge-alerts", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if not self._stopping:
                time.sleep(self.window)  # collect what else fails now: one digest
            self._wake.clear()
            self.flush()
            if self._stopping:
                return

    def flush(self) -> int:
        """Post what is queued now: each alert, or one digest per kind. Returns how many
        messages were posted (or attempted)."""
        with self._lock:
            batches = {kind: items for kind, items in self._queued.items() if items}
            self._queued = {"failed": [], "stuck": []}
        posted = 0
        for kind, items in batches.items():
            name = self.routes.alerts.failed if kind == "failed" else self.routes.alerts.stuck
            if name is None:
                continue
            if len(items) > DIGEST_AFTER:
                self._post("digest", name, self._digest(kind, items))
                posted += 1
                continue
            for message in items:
                self._post(kind, name, message)
                posted += 1
        return posted

    def _digest(self, kind: AlertKind, items: list[Message]) -> Message:
        what = "deliveries failed" if kind == "failed" else "deliveries not delivered yet"
        lines = [f"• {item.title}: {clip(item.text, 120)}" for item in items[:DIGEST_LINES]]
        if len(items) > DIGEST_LINES:
            lines.append(f"… and {len(items) - DIGEST_LINES} more")
        links: tuple[tuple[str, str], ...] = ()
        if self.settings.public_url:
            state = "failed" if kind == "failed" else "pending"
            links = (("Delivery log", f"{self.settings.public_url}/deliveries?state={state}"),)
        return Message(f"{len(items)} {what}", (), "\n".join(lines), links, "bad")

    def _post(self, alert: str, target_name: str, message: Message) -> None:
        target = self.routes.targets[target_name]
        outcome = "sent"
        if self.notifier is None:
            outcome = "dry_run"
            log.info("dry run: alert not posted to %s: %s", target_name, message.title)
        else:
            try:
                request = build_message(
                    self.routes, target, message, delivery_id=f"alert-{uuid.uuid4()}"
                )
                self.notifier.send(request, target)
            except Exception as exc:  # an alert must never take the dispatcher down, nor loop
                outcome = "failed"
                detail = getattr(exc, "message", None) or type(exc).__name__
                log.warning("alert not posted to %s: %s", target_name, detail)
        if self.metrics is not None:
            self.metrics.observe_alert(alert, outcome)

    def stop(self) -> None:
        """Post what is queued, then stop. Idempotent."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=30)
        self.flush()


def alert_failed(alerter: Alerter, item: FailedDelivery) -> None:
    """Announce ``item`` on ``alerts.failed`` (nothing when it is not configured): the one
    entry point for whatever ends badly (a delivery that ended ``failed``, a GitHub run
    that ended ``failure``, ``cancelled`` or ``timed_out``). Returns at once; the alert is
    posted from the alerts thread, folded into a digest when many come together. Never
    raises."""
    try:
        alerter.failed(item)
    except Exception:
        log.exception("cannot queue an alert")
