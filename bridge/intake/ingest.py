"""Store one verified webhook body: normalize → match routes → store event and deliveries.

The single path every event takes in, whether it arrived as a webhook
(:func:`bridge.intake.endpoint.receive`, after the signature check) or was recovered from App
Store Connect's delivery log (:mod:`bridge.appstoreconnect.reconcile`).
Dedupe on ``(source, event id)`` makes taking the same event in twice harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bridge.events import Event
from bridge.providers import PROVIDERS
from bridge.routing.matching import match
from bridge.routing.model import RoutesConfig, delivery_keys
from bridge.store import EventIntake


@dataclass(frozen=True, slots=True)
class Ingested:
    event: Event
    routes: tuple[str, ...]  # matched route names (empty for a duplicate)
    duplicate: bool


def ingest(
    store: EventIntake,
    routes: RoutesConfig,
    source: str,
    body: bytes,
    *,
    now: float,
    headers: Mapping[str, str] | None = None,
) -> Ingested:
    """Parse ``body`` (with the request's lower-case ``headers``) as ``source``'s provider
    sends it and store it with its deliveries.
    Raises PayloadError (not an event), StoreUnavailableError."""
    return record(store, routes, parse(routes, source, body, headers=headers), body, now=now)


def parse(
    routes: RoutesConfig, source: str, body: bytes, *, headers: Mapping[str, str] | None = None
) -> Event:
    """``body`` as ``source``'s provider sends it. Raises PayloadError (not an event)."""
    provider = PROVIDERS[routes.sources[source].provider]
    return provider.parse(body, source=source, headers=headers)


def record(
    store: EventIntake, routes: RoutesConfig, event: Event, body: bytes, *, now: float
) -> Ingested:
    """Store a parsed event (``body``: its raw bytes) with one delivery per matching route
    (per target of a notify route).
    Raises StoreUnavailableError."""
    routed = match(routes, event)
    matched = tuple(r.name for r in routed)
    # One delivery per route, and per target for a notify route (``route/target``).
    keys = tuple(key for route in routed for key in delivery_keys(route))
    recorded = store.record_event(event, body, keys, now=now)
    if recorded.duplicate:
        return Ingested(event, (), duplicate=True)
    return Ingested(event, matched, duplicate=False)
