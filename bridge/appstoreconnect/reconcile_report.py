"""What ``bridge asc reconcile`` found, per source and in all: for people (``describe``), for
scripts (``as_dict``, ``--json``) and for the job's record (``result``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.appstoreconnect import webhooks as asc_webhooks


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
