"""What a webhook body would do, without sending or storing anything: which routes match and
the exact request each would send (``bridge simulate`` and the "Test a payload" page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.delivery.rendering import build_request
from bridge.errors import RenderError, UnknownSourceError
from bridge.events import Event
from bridge.providers import PROVIDERS
from bridge.routing.matching import match, mismatches
from bridge.routing.model import RoutesConfig


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """A matched route: the request it would send, or why it cannot be rendered."""

    route: str
    request: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Simulation:
    event: Event
    matched: tuple[RouteOutcome, ...]
    unmatched: tuple[tuple[str, tuple[str, ...]], ...]  # (route, why not), in file order

    def as_dict(self) -> dict[str, Any]:
        """The ``bridge simulate`` output: the event and every matched route."""
        routes = [
            {"route": r.route, "request": r.request}
            if r.error is None
            else {"route": r.route, "error": r.error}
            for r in self.matched
        ]
        return {"event": self.event.as_dict(), "routes": routes}


def simulate(routes: RoutesConfig, source: str, body: bytes) -> Simulation:
    """Parse ``body`` as ``source``'s provider would (no signature check), match and render.

    Raises UnknownSourceError for a source not in routes.yaml, PayloadError for a body the
    provider refuses. A route whose templates fail is reported, not raised.
    """
    configured = routes.sources.get(source)
    if configured is None:
        known = ", ".join(routes.sources)
        raise UnknownSourceError(f"unknown source {source!r} (known: {known})")
    event = PROVIDERS[configured.provider].parse(body, source=source)
    matched = match(routes, event)
    names = {route.name for route in matched}
    outcomes = []
    for number, route in enumerate(matched, start=1):
        try:
            request = build_request(route, event, delivery_id=f"simulated-{number}")
            outcomes.append(RouteOutcome(route.name, request=request.as_dict()))
        except RenderError as exc:
            outcomes.append(RouteOutcome(route.name, error=str(exc)))
    unmatched = tuple(
        (route.name, tuple(mismatches(route, event)))
        for route in routes.routes
        if route.name not in names
    )
    return Simulation(event, tuple(outcomes), unmatched)
