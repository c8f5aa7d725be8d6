"""Sources gone silent: a source with ``silent_after`` in routes.yaml that has sent nothing for
that long is reported (``/readyz`` warnings, the delivery log, ``bridge_source_silent``).

A webhook that stopped arriving (deleted in App Store Connect, a secret rotated on one side
only, a URL changed) looks exactly like a quiet week: nothing fails, nothing is logged. Only
the absence tells, so it is measured here, from the store, the same in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.durations import two_units
from bridge.routing.model import RoutesConfig
from bridge.store import EventLog


@dataclass(frozen=True, slots=True)
class SourceQuiet:
    """How long one source with ``silent_after`` has been quiet."""

    source: str
    silent_after: float  # seconds
    last_received_at: float | None  # None: no event stored
    quiet_for: float  # seconds since the last event (or since the process started)

    @property
    def silent(self) -> bool:
        return self.quiet_for > self.silent_after

    def describe(self) -> str:
        last = "no event received" if self.last_received_at is None else "no event"
        return (
            f"source {self.source}: {last} for {span(self.quiet_for)}"
            f" (silent_after {span(self.silent_after)})"
        )


def quiet_sources(
    routes: RoutesConfig, store: EventLog, *, now: float, started_at: float
) -> list[SourceQuiet]:
    """Every source with ``silent_after``, in routes.yaml order. A source that never sent an
    event counts from ``started_at`` (the process's start), so a fresh deployment is not
    reported at once. Raises StoreUnavailableError."""
    found = []
    for source in routes.sources.values():
        if source.silent_after is None:
            continue
        last = store.last_received_at(source.name)
        quiet = now - (last if last is not None else started_at)
        found.append(SourceQuiet(source.name, source.silent_after, last, max(0.0, quiet)))
    return found


def span(seconds: float) -> str:
    """``3d 4h``, ``5h 12m``, ``42m``, ``30s``: the two largest units, the seconds cut."""
    return two_units(int(seconds))
