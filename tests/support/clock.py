"""A clock the test moves: inject it where the code takes ``clock=`` (the dispatcher, the App
Store Connect client) to check schedules and expiries without waiting for them."""

from __future__ import annotations


class Clock:
    """``clock()`` is ``clock.now``, which changes only when the test sets or advances it."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now
