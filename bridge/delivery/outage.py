"""The outage breaker: GitHub unreachable or answering 5xx OUTAGE_THRESHOLD times in a row
stops sending for a while, then probes with one delivery (1 s, 2 s, 4 s … up to
OUTAGE_MAX_PAUSE between probes). Without it, every pending delivery keeps its own schedule
and a backlog hammers a GitHub outage. Chat and HTTP targets do not count: one failing room
says nothing about GitHub."""

from __future__ import annotations

import logging
import threading

from bridge.store import AttemptResult

log = logging.getLogger(__name__)
OUTAGE_THRESHOLD = 3
OUTAGE_MAX_PAUSE = 60.0


class OutageBreaker:
    def __init__(self) -> None:
        self.failures = 0  # consecutive 5xx / network failures
        self._lock = threading.Lock()

    @property
    def in_outage(self) -> bool:
        """GitHub has failed OUTAGE_THRESHOLD times in a row: sending one probe at a time."""
        return self.failures >= OUTAGE_THRESHOLD

    def track(self, result: AttemptResult) -> float | None:
        """Count an attempt GitHub was asked; returns seconds to pause everything, or None."""
        outage = result.outcome == "retry" and (result.status is None or result.status >= 500)
        with self._lock:
            if not outage:
                if self.in_outage and result.outcome == "delivered":
                    log.info("GitHub answers again: sending resumes")
                self.failures = 0
                return None
            self.failures += 1
            if not self.in_outage:
                return None
            pause = min(OUTAGE_MAX_PAUSE, 2.0 ** (self.failures - OUTAGE_THRESHOLD))
            log.warning("GitHub failing (%d in a row): next probe in %.0f s", self.failures, pause)
            return pause
