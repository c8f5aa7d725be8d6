"""Catch-up after downtime: recover events App Store Connect failed to deliver.

App Store Connect keeps a log of every webhook delivery and, with ``include=event``, the
original body of each (docs/protocols.md, "Delivery semantics";
https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries). For each
appstoreconnect source with a ``webhook_id`` in routes.yaml, :func:`reconcile` reads the
webhook's FAILED deliveries created since a date and takes each event in through the intake
path (:mod:`bridge.intake.ingest`), exactly as if it had arrived: dedupe on ``(source, event id)``
makes this idempotent, so an event Apple retried (several failed deliveries) or one bridge
already has is stored once. With ``redeliver`` it asks Apple to send each missing event again
instead (``POST /v1/webhookDeliveries``).

``bridge.appstoreconnect.reconcile_job`` runs it periodically (``BRIDGE_RECONCILE_INTERVAL``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bridge.appstoreconnect import webhooks as asc_webhooks
from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.errors import AscError
from bridge.appstoreconnect.reconcile_report import (
    ReconcileReport,
    Recovered,
    Redelivery,
    SourceReport,
    Unreadable,
)
from bridge.appstoreconnect.webhook_resources import Delivery
from bridge.errors import ConfigError, PayloadError
from bridge.intake.ingest import parse, record
from bridge.providers import appstoreconnect
from bridge.routing.model import RoutesConfig, Source
from bridge.store import EventIntake

_NO_WEBHOOK_HINT = (
    "no `webhook_id` in routes.yaml; add the id shown by `bridge asc webhooks list --app APP_ID`"
)


def reconcile_sources(routes: RoutesConfig, names: list[str] | None) -> list[Source]:
    """The appstoreconnect sources to reconcile (all when ``names`` is None).
    Raises ConfigError naming an unknown or non-appstoreconnect source."""
    asc = [s for s in routes.sources.values() if s.provider == appstoreconnect.NAME]
    if names is None:
        return asc
    chosen: list[Source] = []
    for name in dict.fromkeys(names):
        source = routes.sources.get(name)
        if source is None:
            known = ", ".join(s.name for s in asc) or "none"
            raise ConfigError(
                f"unknown source {name!r} in {routes.path} (appstoreconnect sources: {known})"
            )
        if source.provider != appstoreconnect.NAME:
            raise ConfigError(
                f"source {name!r} is a {source.provider} source; only appstoreconnect sources "
                "have a delivery log to reconcile"
            )
        chosen.append(source)
    return chosen


def reconcile(
    client: AscClient,
    store: EventIntake,
    routes: RoutesConfig,
    *,
    since: float,
    now: float,
    sources: list[str] | None = None,
    redeliver: bool = False,
    retention: float | None = None,
) -> ReconcileReport:
    """Take in every event of a FAILED delivery created at or after ``since`` (epoch s), per
    appstoreconnect source with a ``webhook_id`` (``sources``: only these names).

    ``retention`` (``BRIDGE_RETENTION``): events older than it may have been pruned; taking
    them in again would dispatch them again, so ``since`` is never earlier than ``now -
    retention``. A delivery Apple sent to another URL than ``/webhooks/<source>`` (a webhook
    id that belongs to another source or deployment) is reported, not taken in.

    An App Store Connect error stops that source (``SourceReport.error``), not the others.
    Raises ConfigError for a bad ``sources`` name, StoreUnavailableError."""
    shortened = retention is not None and since < now - retention
    if retention is not None and shortened:
        since = now - retention
    report = ReconcileReport(since=since, now=now, redeliver=redeliver, shortened=shortened)
    run = _Run(client, store, routes, now=now, redeliver=redeliver)
    for source in reconcile_sources(routes, sources):
        part = SourceReport(source.name, source.webhook_id)
        report.sources.append(part)
        if source.webhook_id is None:
            part.skipped = _NO_WEBHOOK_HINT
            continue
        try:
            run.source(source, source.webhook_id, part, since=since)
        except AscError as exc:
            part.error = exc.message
    return report


@dataclass(frozen=True, slots=True)
class _Run:
    client: AscClient
    store: EventIntake
    routes: RoutesConfig
    now: float
    redeliver: bool

    def source(self, source: Source, webhook_id: str, part: SourceReport, *, since: float) -> None:
        # Apple may have tried one event several times. Deliveries come newest first, so the
        # newest of each event is the one acted on (and the template of a redelivery).
        seen: set[str] = set()
        failed = asc_webhooks.deliveries(self.client, webhook_id, states=("FAILED",), since=since)
        for delivery in failed:
            part.failed_deliveries += 1
            key = delivery.event_id or f"delivery:{delivery.id}"
            if key in seen:
                continue
            seen.add(key)
            if not _sent_to(delivery.url, source.name):
                reason = f"sent to {delivery.url}, not to /webhooks/{source.name}: not taken in"
                part.unreadable.append(Unreadable(delivery.id, reason))
            elif delivery.event is not None and delivery.event.ping:
                part.pings += 1
            elif self.redeliver:
                self._redeliver(source, delivery, part)
            else:
                self._take_in(source, delivery, part)

    def _take_in(self, source: Source, delivery: Delivery, part: SourceReport) -> None:
        payload = delivery.event.payload if delivery.event else None
        if payload is None:
            part.unreadable.append(Unreadable(delivery.id, "App Store Connect sent no payload"))
            return
        body = payload.encode()
        try:
            event = parse(self.routes, source.name, body)
        except PayloadError as exc:
            part.unreadable.append(Unreadable(delivery.id, exc.message))
            return
        if event.type == appstoreconnect.PING:
            part.pings += 1
            return
        ingested = record(self.store, self.routes, event, body, now=self.now)
        found = Recovered(ingested.event.id, ingested.event.type, delivery.id, ingested.routes)
        (part.known if ingested.duplicate else part.recovered).append(found)

    def _redeliver(self, source: Source, delivery: Delivery, part: SourceReport) -> None:
        """Ask Apple to send the event again, unless bridge has it or it cannot be read. A
        delivery without its payload is sent again: only the endpoint can tell."""
        payload = delivery.event.payload if delivery.event else None
        if payload is not None:
            try:
                event = parse(self.routes, source.name, payload.encode())
            except PayloadError as exc:
                part.unreadable.append(Unreadable(delivery.id, exc.message))
                return
            if event.type == appstoreconnect.PING:
                part.pings += 1
                return
            if self.store.events_by_id(event.id, source=source.name):
                part.known.append(Recovered(event.id, event.type, delivery.id))
                return
        new = asc_webhooks.redeliver(self.client, delivery.id)
        part.redelivered.append(Redelivery(delivery.id, new.id))


def _sent_to(url: str | None, source: str) -> bool:
    """Whether Apple posted this delivery to the source's endpoint (unknown URL: assume so)."""
    if not url:
        return True
    return urlsplit(url).path.rstrip("/").endswith(f"/webhooks/{source}")
