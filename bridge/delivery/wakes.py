"""When the dispatcher looks for due deliveries again: at once when its process stores an
event, at the next due time otherwise, and, under a flood of events it cannot send yet
(GitHub's budget for the credential is used up), once for many of them.

A round that finds nothing to send is a claim (a write transaction) and a due-time query. Run
for every stored event of a flood, those rounds compete with intake for the database and the
CPU while sending nothing; so a wake that comes within ``GATHER`` of a round that found
nothing waits a little first, twice as long each time the flood goes on (up to
``GATHER_MAX``), and one round then serves every event stored meanwhile. A new event at an
ordinary pace, or one that follows a round that sent something, is looked at at once.
"""

from __future__ import annotations

import threading
import time

GATHER = 0.02  # seconds
GATHER_MAX = 0.25


class Wakes:
    def __init__(self, stop: threading.Event) -> None:
        """``stop`` cuts any wait short."""
        self._event = threading.Event()
        self._stop = stop
        self._gather = 0.0

    def set(self) -> None:
        """New deliveries were stored (or the dispatcher stops): look now."""
        self._event.set()

    def sent(self) -> None:
        """The last round found something to send: the next wake is looked at at once."""
        self._gather = 0.0

    def wait(self, timeout: float) -> None:
        """After a round that found nothing: until woken or ``timeout`` seconds, and then,
        when woken by a flood, a little longer to gather it."""
        found_nothing_at = time.monotonic()
        woken = self._event.wait(timeout)
        self._event.clear()
        if woken and time.monotonic() - found_nothing_at < max(self._gather, GATHER):
            self._gather = min(max(2 * self._gather, GATHER), GATHER_MAX)
            self._stop.wait(self._gather)
        else:
            self._gather = 0.0
