"""When the dispatcher looks for due deliveries again: at once when its process stores an
event, at the next due time otherwise, and, under a flood of events it cannot send yet
(GitHub's budget for the credential is used up), once for many of them.

A round that finds nothing to send is a claim (a write transaction) and a due-time query. Run
for every stored event of a flood, those rounds compete with intake for the database and the
CPU while sending nothing; so when a round woken by an event found nothing to send, nothing
was sent for ``QUIET`` and the next wake comes within ``GATHER``, the dispatcher waits a
little first, twice as long each time the flood goes on (up to ``GATHER_MAX``), and one round
then serves every event stored meanwhile. A new event at an ordinary pace, or while this
dispatcher is sending (events in quick succession that can be sent, another process's
dispatcher taking one first), is looked at at once.
"""

from __future__ import annotations

import threading
import time

GATHER = 0.02  # seconds
GATHER_MAX = 0.25
QUIET = 0.5  # seconds without a send before wakes may be gathered


class Wakes:
    def __init__(self, stop: threading.Event) -> None:
        """``stop`` cuts any wait short."""
        self._event = threading.Event()
        self._stop = stop
        self._gather = 0.0
        self._woken = False  # the last round ran because an event was stored
        self._sent_at = -QUIET  # time.monotonic() of the last round that sent something
        self.gathered = 0.0  # seconds the last wait gathered (0: none)

    def set(self) -> None:
        """New deliveries were stored (or the dispatcher stops): look now."""
        self._event.set()

    def sent(self) -> None:
        """The last round found something to send: the next wake is looked at at once."""
        self._gather = 0.0
        self._woken = False
        self._sent_at = time.monotonic()

    def wait(self, timeout: float) -> None:
        """After a round that found nothing: until woken or ``timeout`` seconds, and then,
        when woken again by a flood (the round before was woken too and found nothing, and
        nothing was sent for ``QUIET``), a little longer to gather it."""
        found_nothing_at = time.monotonic()
        woken = self._event.wait(timeout)
        self._event.clear()
        now, window = time.monotonic(), max(self._gather, GATHER)
        quiet = now - self._sent_at > QUIET
        if woken and self._woken and quiet and now - found_nothing_at < window:
            self._gather = min(max(2 * self._gather, GATHER), GATHER_MAX)
            self._stop.wait(self._gather)
        else:
            self._gather = 0.0
        self.gathered = self._gather
        self._woken = woken
