"""Pace each target under its service's documented rate limit (e.g. DingTalk: 20 messages a
minute per robot) instead of hammering it and being throttled: a sliding one-minute window
per target, in this process."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

WINDOW = 60.0


class Pacer:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._held: dict[str, float] = {}  # the service said "not before" (429 Retry-After)
        self._lock = threading.Lock()

    def reserve(self, key: str, per_minute: int) -> float:
        """Reserve the next slot of ``key`` and return how many seconds from now it is (0:
        send now). The slot is taken: a caller that will not wait must :meth:`release` it."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - WINDOW:
                sent.popleft()
            at = now if len(sent) < per_minute else sent[-per_minute] + WINDOW
            at = max(at, self._held.get(key, 0.0))
            sent.append(at)
            return max(at - now, 0.0)

    def release(self, key: str) -> None:
        """Give back the last slot :meth:`reserve` took for ``key``."""
        with self._lock:
            sent = self._sent.get(key)
            if sent:
                sent.pop()

    def hold(self, key: str, until: float) -> None:
        """The service asked for no message to ``key`` before ``until`` (a 429)."""
        with self._lock:
            self._held[key] = max(self._held.get(key, 0.0), until)
