"""Prometheus counters: what this process did (webhook answers, events stored, delivery
attempts). Served at ``GET /metrics`` by :mod:`bridge.ui.metrics_endpoint`.

Under gunicorn, ``bridge.gunicorn_conf`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker
starts, so prometheus_client keeps the counters in files that every worker's ``/metrics`` adds
up (https://prometheus.github.io/client_python/multiprocess/). A ``bridge worker`` started with
the same ``PROMETHEUS_MULTIPROC_DIR`` on the same host counts into the same files.

prometheus_client chooses between in-memory and file-backed values when it is first imported,
from the environment. It is therefore imported only inside :class:`Metrics` (built by the
composition root, in each worker after the fork), never at module level.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bridge.store.records import AttemptResult

if TYPE_CHECKING:  # a type only: importing prometheus_client here would fix its mode too early
    from prometheus_client import CollectorRegistry

log = logging.getLogger(__name__)

MAX_LABEL = 64  # characters: every documented event type is shorter

# GitHub answers a dispatch in about 0.3-1 s; timeouts are 10 s by default.
ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """This process's counters. ``observe_*`` are called on the request and dispatch paths:
    each is one or two in-memory (or mmap) increments."""

    def __init__(
        self,
        sources: frozenset[str] = frozenset(),
        *,
        event_types: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``sources``: the source names of routes.yaml; ``event_types``: per source, the event
        types its provider documents. Only these become label values (a payload's own strings
        never do: 2,000 made-up types would be 2,000 series that never go away)."""
        from prometheus_client import (  # noqa: PLC0415  (see the module docstring)
            CollectorRegistry,
            Counter,
            Histogram,
            disable_created_metrics,
            values,
        )

        # Multiprocess mode has no _created series: neither has the single-process one.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.sources = sources
        self.event_types = dict(event_types or {})
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        if self.multiprocess_dir and values.ValueClass.__name__ == "MutexValue":
            log.warning(
                "metrics: prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was "
                "set; /metrics shows this worker's counters only"
            )
        self.registry = None if self.multiprocess_dir else CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "bridge_webhook_requests", "Webhook requests answered, by source and HTTP status.",
            ["source", "status"], registry=registry,
        )  # fmt: skip
        self.signature_failures = Counter(
            "bridge_webhook_signature_failures",
            "Webhook requests refused for a missing or wrong signature or token.",
            ["source"], registry=registry,
        )  # fmt: skip
        self.events = Counter(
            "bridge_events", "New events stored (redeliveries not counted), by source and type.",
            ["source", "type"], registry=registry,
        )  # fmt: skip
        self.attempts = Counter(
            "bridge_delivery_attempts", "Delivery attempts, by outcome.",
            ["outcome"], registry=registry,
        )  # fmt: skip
        self.attempt_seconds = Histogram(
            "bridge_delivery_attempt_duration_seconds",
            "Time to render and send one delivery to GitHub, by outcome.",
            ["outcome"], buckets=ATTEMPT_BUCKETS, registry=registry,
        )  # fmt: skip
        self.notify_attempts = Counter(
            "bridge_notify_attempts",
            "Attempts to post to chat and HTTP targets, by target kind and outcome.",
            ["kind", "outcome"], registry=registry,
        )  # fmt: skip
        self.alerts = Counter(
            "bridge_alerts", "Alerts posted (alerts.failed, alerts.stuck), by alert and outcome.",
            ["alert", "outcome"], registry=registry,
        )  # fmt: skip

        self.github_rate_limited = Counter(
            "bridge_github_rate_limited",
            "GitHub dispatches refused for a rate limit (429, or 403 saying so): each pauses"
            " every GitHub send for its Retry-After. Pacing keeps this at 0.",
            registry=registry,
        )  # fmt: skip
        self.runs = Counter(
            "bridge_workflow_runs_completed",
            "Workflow runs started by bridge that completed, by conclusion (success, failure,"
            " cancelled, timed_out, …), from GitHub's workflow_run webhooks.",
            ["conclusion"], registry=registry,
        )  # fmt: skip

    def observe_response(self, source: str, status: int) -> None:
        label = source if source in self.sources else "unknown"  # never a caller's string
        self.requests.labels(label, str(status)).inc()
        if status == 401:
            self.signature_failures.labels(label).inc()

    def observe_event(self, source: str, event_type: str) -> None:
        """Counts a stored event under its type when the source's provider documents that type,
        else under ``other`` (and an unknown source under ``unknown``)."""
        label = source if source in self.sources else "unknown"
        known = self.event_types.get(label, frozenset())
        kind = event_type if event_type in known and len(event_type) <= MAX_LABEL else "other"
        self.events.labels(label, kind).inc()

    def observe_attempt(self, outcome: str, seconds: float) -> None:
        self.attempts.labels(outcome).inc()
        self.attempt_seconds.labels(outcome).observe(seconds)

    def observe_result(self, result: AttemptResult) -> None:
        """One attempt of any delivery; a chat or HTTP target's also by its kind."""
        self.observe_attempt(result.outcome, result.duration_ms / 1000)
        if result.request is not None and result.request.get("kind") == "notify":
            self.observe_notify(str(result.request["target_kind"]), result.outcome)

    def observe_notify(self, kind: str, outcome: str) -> None:
        """One attempt to a chat or HTTP target (also counted by :meth:`observe_attempt`);
        ``kind`` is the target's kind, never its name or URL."""
        self.notify_attempts.labels(kind, outcome).inc()

    def observe_alert(self, alert: str, outcome: str) -> None:
        """``alert``: failed, stuck or digest; ``outcome``: sent, failed or dry_run."""
        self.alerts.labels(alert, outcome).inc()

    def observe_run(self, conclusion: str) -> None:
        self.runs.labels(conclusion[:40]).inc()

    def counters(self) -> CollectorRegistry:
        """Every process's counters: this one's registry, or under gunicorn (multiprocess
        mode) a registry that adds up every worker's files."""
        from prometheus_client import CollectorRegistry  # noqa: PLC0415
        from prometheus_client.multiprocess import MultiProcessCollector  # noqa: PLC0415

        if self.registry is not None:
            return self.registry
        merged = CollectorRegistry()
        MultiProcessCollector(merged, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return merged
