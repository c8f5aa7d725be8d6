"""Catch-up after downtime: recover events App Store Connect failed to deliver.

App Store Connect keeps a log of every webhook delivery and, with ``include=event``, the
original body of each (protocols.md §1.5, "Delivery semantics";
https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries). For each
appstoreconnect source with a ``webhook_id`` in routes.yaml, :func:`reconcile` reads the
webhook's FAILED deliveries created since a date and takes each event in through
:func:`bridge.intake.ingest`, exactly as if it had arrived: dedupe on ``(source, event id)``
makes this idempotent, so an event Apple retried (several failed deliveries) or one bridge
already has is stored once. With ``redeliver`` it asks Apple to send each missing event again
instead (``POST /v1/webhookDeliveries``).

``bridge.reconcile_job`` runs it periodically (``BRIDGE_RECONCILE_INTERVAL``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bridge import asc_webhooks
from bridge.appstoreconnect_api import AscClient, AscError
from bridge.asc_webhooks import Delivery
from bridge.errors import ConfigError, PayloadError
from bridge.intake import ingest
from bridge.providers import PROVIDERS, appstoreconnect
from bridge.routes import RoutesConfig, Source
from bridge.store import Store

log = logging.getLogger(__name__)
_NO_WEBHOOK_HINT = (
    "no `webhook_id` in routes.yaml; add the id shown by `bridge asc webhooks list --app APP_ID`"
)


@dataclass(frozen=True, slots=True)
class Recovered:
    """An event taken in from the delivery log: new (``routes`` matched) or already known."""

    event_id: str
    type: str
    delivery_id: str
    routes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "delivery_id": self.delivery_id,
            "routes": list(self.routes),
        }


@dataclass(frozen=True, slots=True)
class Unreadable:
    delivery_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"delivery_id": self.delivery_id, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Redelivery:
    delivery_id: str  # the failed one, sent again as template
    new_delivery_id: str

    def as_dict(self) -> dict[str, str]:
        return {"delivery_id": self.delivery_id, "new_delivery_id": self.new_delivery_id}


@dataclass(slots=True)
class SourceReport:
    """What reconciling one source found. ``skipped``: why it was not looked at;
    ``error``: the App Store Connect error that stopped it (what came before is kept)."""

    source: str
    webhook_id: str | None
    skipped: str | None = None
    error: str | None = None
    failed_deliveries: int = 0
    recovered: list[Recovered] = field(default_factory=list)
    known: list[Recovered] = field(default_factory=list)
    pings: int = 0
    unreadable: list[Unreadable] = field(default_factory=list)
    redelivered: list[Redelivery] = field(default_factory=list)

    def summary(self) -> str:
        if self.skipped:
            return f"{self.source}: skipped — {self.skipped}"
        parts = [
            _count(self.failed_deliveries, "failed delivery", "failed deliveries"),
            f"{len(self.recovered)} recovered",
            f"{len(self.known)} already known",
            _count(self.pings, "ping skipped", "pings skipped"),
        ]
        if self.unreadable:
            parts.append(f"{len(self.unreadable)} unreadable")
        if self.redelivered:
            n = len(self.redelivered)
            parts.append(_count(n, "redelivery requested", "redeliveries requested"))
        text = f"{self.source} (webhook {self.webhook_id}): {', '.join(parts)}"
        return f"{text}; error: {self.error}" if self.error else text

    def lines(self) -> list[str]:
        lines = [self.summary()]
        for r in self.recovered:
            routes = ", ".join(r.routes) or "(no route matched)"
            lines.append(
                f"    recovered {r.type} {r.event_id} → {routes}  [delivery {r.delivery_id}]"
            )
        lines.extend(f"    already known {r.type} {r.event_id}" for r in self.known)
        lines.extend(
            f"    unreadable delivery {u.delivery_id}: {u.reason}" for u in self.unreadable
        )
        lines.extend(
            f"    redelivery requested for {r.delivery_id} (new delivery {r.new_delivery_id})"
            for r in self.redelivered
        )
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "webhook_id": self.webhook_id,
            "skipped": self.skipped,
            "error": self.error,
            "failed_deliveries": self.failed_deliveries,
            "recovered": [r.as_dict() for r in self.recovered],
            "known": [r.as_dict() for r in self.known],
            "pings": self.pings,
            "unreadable": [u.as_dict() for u in self.unreadable],
            "redelivered": [r.as_dict() for r in self.redelivered],
        }


@dataclass(slots=True)
class ReconcileReport:
    since: float
    now: float
    redeliver: bool
    sources: list[SourceReport] = field(default_factory=list)
    shortened: bool = False  # ``since`` moved up to the retention limit

    @property
    def recovered(self) -> int:
        """New events stored: the dispatcher has work (wake it)."""
        return sum(len(s.recovered) for s in self.sources)

    @property
    def errors(self) -> list[str]:
        return [f"{s.source}: {s.error}" for s in self.sources if s.error]

    def describe(self) -> str:
        """Lines for people: one per source, then one per event recovered or problem."""
        header = f"failed deliveries since {asc_webhooks.iso_utc(self.since)}"
        if self.shortened:
            header += (
                " (BRIDGE_RETENTION: older events may have been pruned, and would be sent again)"
            )
        lines = [header + (" (asking App Store Connect to redeliver)" if self.redeliver else "")]
        lines += [line for s in self.sources for line in s.lines()]
        if not self.sources:
            lines.append("no appstoreconnect source in routes.yaml")
        return "\n".join(lines)

    def result(self, *, errors: bool = True) -> str:
        """One line for the job's record and logs (``errors``: with each source's error)."""
        looked = [s for s in self.sources if not s.skipped]
        parts = [
            _count(
                sum(s.failed_deliveries for s in looked), "failed delivery", "failed deliveries"
            ),
            f"{self.recovered} recovered",
            f"{sum(len(s.known) for s in looked)} already known",
        ]
        redelivered = sum(len(s.redelivered) for s in looked)
        if redelivered:
            parts.append(f"{redelivered} redelivered")
        unreadable = sum(len(s.unreadable) for s in looked)
        if unreadable:
            parts.append(f"{unreadable} unreadable")
        text = f"{len(looked)} webhook(s): " + ", ".join(parts)
        return text + "".join(f"; {e}" for e in self.errors if errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": asc_webhooks.iso_utc(self.since),
            "until": asc_webhooks.iso_utc(self.now),
            "redeliver": self.redeliver,
            "shortened_to_retention": self.shortened,
            "recovered": self.recovered,
            "errors": self.errors,
            "sources": [s.as_dict() for s in self.sources],
        }


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


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
    store: Store,
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
    store: Store
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
        try:
            event = PROVIDERS[source.provider].parse(payload.encode(), source=source.name)
            if event.type == appstoreconnect.PING:
                part.pings += 1
                return
            ingested = ingest(self.store, self.routes, source.name, payload.encode(), now=self.now)
        except PayloadError as exc:
            part.unreadable.append(Unreadable(delivery.id, exc.message))
            return
        found = Recovered(ingested.event.id, ingested.event.type, delivery.id, ingested.routes)
        (part.known if ingested.duplicate else part.recovered).append(found)

    def _redeliver(self, source: Source, delivery: Delivery, part: SourceReport) -> None:
        """Ask Apple to send the event again, unless bridge has it or it cannot be read. A
        delivery without its payload is sent again: only the endpoint can tell."""
        payload = delivery.event.payload if delivery.event else None
        if payload is not None:
            try:
                event = PROVIDERS[source.provider].parse(payload.encode(), source=source.name)
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
