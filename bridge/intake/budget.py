"""A source's ``limit:`` in routes.yaml: at most so many webhooks a minute and so many body
bytes a day from its credential, per process; past either, 429 with Retry-After and nothing
is stored. Off unless set.

Why per source and off by default: one leaked or abused credential could otherwise fill the
database (1,652 one-MiB events in 10 s were measured), but a limit lower than a genuine burst
refuses real events. App Store Connect retries a 429; Pgyer never redelivers, so a Pgyer
event refused here is lost for good (docs/security.md). The counts live in each process (W
workers over all instances allow W times the limit) and start over when it restarts.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from bridge.routing.model import Source

log = logging.getLogger(__name__)

MINUTE = 60.0
DAY = 86400.0


class _Window:
    """A fixed window: a count since ``start``, started again when ``length`` has passed."""

    __slots__ = ("count", "length", "logged", "start")

    def __init__(self, length: float, now: float) -> None:
        self.length, self.start, self.count, self.logged = length, now, 0, False

    def left(self, now: float) -> float:
        if now - self.start >= self.length:
            self.start, self.count, self.logged = now, 0, False
        return self.start + self.length - now


class SourceBudgets:
    def __init__(
        self, sources: Mapping[str, Source], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._limits: dict[str, tuple[int | None, int | None]] = {}
        self._windows: dict[str, tuple[_Window, _Window]] = {}
        for name, source in sources.items():
            if source.events_per_minute is None and source.mib_per_day is None:
                continue
            day_bytes = None if source.mib_per_day is None else source.mib_per_day * 2**20
            self._limits[name] = (source.events_per_minute, day_bytes)
            self._windows[name] = (_Window(MINUTE, now), _Window(DAY, now))

    def admit(self, source: str, size: int) -> int | None:
        """Count one webhook of ``size`` body bytes from ``source``; None when it is within
        the source's limit, else the seconds to wait (Retry-After), and it is not counted."""
        limits = self._limits.get(source)
        if limits is None:
            return None
        events, day_bytes = limits
        now = self._clock()
        with self._lock:
            minute, day = self._windows[source]
            minute_left, day_left = minute.left(now), day.left(now)
            over = None
            if events is not None and minute.count + 1 > events:
                over, window, what = minute_left, minute, f"{events} events a minute"
            elif day_bytes is not None and day.count + size > day_bytes:
                over, window, what = day_left, day, f"{day_bytes // 2**20} MiB a day"
            if over is None:
                minute.count += 1
                day.count += size
                return None
            first = not window.logged
            window.logged = True
        if first:
            log.warning(
                "source %s is over its limit (%s): answering 429 for %.0f s", source, what, over
            )
        return max(1, math.ceil(over))
