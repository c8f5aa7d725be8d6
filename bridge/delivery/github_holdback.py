"""Why the dispatcher sends nothing to GitHub for a while, after GitHub said so: a rate-limit
answer (429, or a 403 that says so) pauses every GitHub send for as long as ``Retry-After``
asks, and the outage breaker (bridge.delivery.outage) pauses between probes. Pacing
(bridge.github_limits) keeps bridge below GitHub's limits beforehand; a rate-limit answer is
the fallback, counted in ``bridge_github_rate_limited``."""

from __future__ import annotations

import logging

from bridge.delivery.outage import OutageBreaker
from bridge.metrics import Metrics
from bridge.store import AttemptResult

log = logging.getLogger(__name__)


class GitHubHoldback:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.paused_until = 0.0  # applies to every delivery
        self.outage = OutageBreaker()
        self.metrics = metrics

    def rate_limited(self, started: float, retry_after: float) -> None:
        """GitHub refused a dispatch for a rate limit at ``started``: pause every send."""
        self.paused_until = max(self.paused_until, started + retry_after)
        log.warning("GitHub rate limit: sending paused for %.0f s", retry_after)
        if self.metrics is not None:
            self.metrics.github_rate_limited.inc()

    def track(self, result: AttemptResult, started: float) -> None:
        """An attempt GitHub was asked (not a chat's, not one that failed before sending)."""
        pause = self.outage.track(result)
        if pause is not None:
            self.paused_until = max(self.paused_until, started + pause)
