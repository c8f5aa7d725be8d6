"""What a webhook body would do, without sending or storing anything: which routes match and
the exact request each would send (``bridge simulate`` and the "Test a payload" page), and what
a stored delivery will send before its first attempt (the delivery log). Every request shown
is rendered with the same delivery context the dispatcher uses (:mod:`bridge.delivery.context`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bridge.appstoreconnect.errors import AscTransientError
from bridge.delivery.context import ContextBuilder
from bridge.delivery.outgoing import render
from bridge.errors import RenderError, UnknownSourceError
from bridge.events import Event
from bridge.providers import PROVIDERS
from bridge.routing.matching import match, mismatches
from bridge.routing.model import RoutesConfig, delivery_keys
from bridge.store import DeliveryRecord, EventDetail


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
    # (route, why not), in file order, for the routes that take this source
    unmatched: tuple[tuple[str, tuple[str, ...]], ...]

    def as_dict(self) -> dict[str, Any]:
        """The ``bridge simulate`` output: the event and every matched route."""
        routes = [
            {"route": r.route, "request": r.request}
            if r.error is None
            else {"route": r.route, "error": r.error}
            for r in self.matched
        ]
        unmatched = [{"route": name, "why": list(why)} for name, why in self.unmatched]
        return {"event": self.event.as_dict(), "routes": routes, "not_matched": unmatched}


def simulate(
    routes: RoutesConfig,
    source: str,
    body: bytes,
    *,
    contexts: ContextBuilder | None = None,
    now: float | None = None,
) -> Simulation:
    """Parse ``body`` as ``source``'s provider would (no signature check), match and render as
    if it were received ``now`` (default: now). ``contexts``: the running bridge's, so that
    stored details and review history count; None, a bridge with no database yet.

    Raises UnknownSourceError for a source not in routes.yaml, PayloadError for a body the
    provider refuses. A route whose templates fail is reported, not raised.
    """
    configured = routes.sources.get(source)
    if configured is None:
        known = ", ".join(routes.sources)
        raise UnknownSourceError(f"unknown source {source!r} (known: {known})")
    event = PROVIDERS[configured.provider].parse(body, source=source)
    contexts = contexts or ContextBuilder.without_store(routes)
    received_at = time.time() if now is None else now
    matched = match(routes, event)
    names = {route.name for route in matched}
    outcomes = []
    keys = [(key, route) for route in matched for key in delivery_keys(route)]
    for number, (key, route) in enumerate(keys, start=1):
        try:
            context = contexts.for_body(event, route, now=received_at)
            request = render(
                routes, key, route, event, delivery_id=f"simulated-{number}", context=context
            )
            outcomes.append(RouteOutcome(key, request=request.as_dict()))
        except RenderError as exc:
            outcomes.append(RouteOutcome(key, error=str(exc)))
        except AscTransientError as exc:
            message = f"App Store Connect details not available yet: {exc.message}"
            outcomes.append(RouteOutcome(key, error=message))
    unmatched = tuple(
        (route.name, tuple(mismatches(route, event)))
        for route in routes.routes
        if route.name not in names and (route.sources is None or source in route.sources)
    )  # another source's routes are not candidates: listing them explains nothing
    return Simulation(event, tuple(outcomes), unmatched)


def would_send(
    routes: RoutesConfig,
    contexts: ContextBuilder,
    detail: EventDetail,
    delivery: DeliveryRecord,
    *,
    log_url: str | None = None,
) -> dict[str, Any]:
    """The request a stored delivery sent (as recorded), or, before its first attempt, the one
    it will send: rendered as the dispatcher renders it, with the same context (the details
    are fetched and stored now when the route enriches and no delivery fetched them yet, so
    the attempt sends exactly this)."""
    if delivery.request is not None:
        return {"request": delivery.request, "recorded": True}
    route = routes.route(delivery.route)
    if route is None:
        return {"error": f"route {delivery.route!r} is no longer in routes.yaml"}
    try:
        context = contexts.for_delivery(detail.event, route, detail.details)
        request = render(
            routes, delivery.route, route, detail.event, delivery_id=delivery.id,
            context=context, log_url=log_url,
        )  # fmt: skip
    except RenderError as exc:
        return {"error": f"cannot render: {exc}"}
    except AscTransientError as exc:
        return {"error": f"App Store Connect details not available yet: {exc.message}"}
    return {"request": request.as_dict(), "recorded": False}
