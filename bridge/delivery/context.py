"""The one delivery context: what bridge knows about an event beyond its webhook body, for one
route. The App Store Connect details (when the route enriches; fetched once per event) and the
App Review times (from the version's stored history).

:class:`ContextBuilder` is the only place a context is assembled. The dispatcher, the delivery
log's preview, ``bridge simulate`` and the "Test a payload" page all ask it, so what they show
is, byte for byte, what is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.details import summary
from bridge.appstoreconnect.enrichment import Enricher
from bridge.appstoreconnect.review_times import review_as_of
from bridge.events import Event
from bridge.routing.model import Route, RoutesConfig
from bridge.store import Details, EventFacts, StateChange


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """What the templates and the standard payload see beyond the event itself."""

    enriched: bool = False  # the route asked for App Store Connect details
    details: Mapping[str, Any] | None = None  # the fetched resource (enrichment.fetch)
    review: Mapping[str, Any] | None = None  # ReviewTimes.as_dict(), when in a review cycle
    event_state: str | None = None  # the event's new_state, compared with the fetched one

    def standard_details(self) -> dict[str, Any] | None:
        """``details`` of the standard payload: the compact resource facts and ``review``."""
        found = (
            summary(self.details, event_state=self.event_state) if self.details is not None else {}
        )
        if self.review is not None:
            found["review"] = dict(self.review)
        return found or None

    @property
    def in_standard_payload(self) -> bool:
        return self.enriched or self.review is not None


EMPTY_CONTEXT = DeliveryContext()


class NoFacts:
    """The facts of a bridge whose database does not exist yet: nothing stored and nothing
    kept, so ``bridge simulate`` on a fresh checkout creates no database."""

    def details(self, source: str, event_id: str) -> Details | None:
        return None

    def save_details(self, source: str, event_id: str, details: Details) -> Details:
        return details

    def instance_history(self, instance_type: str, instance_id: str) -> list[StateChange]:
        return []


class ContextBuilder:
    def __init__(self, *, facts: EventFacts, routes: RoutesConfig, enricher: Enricher) -> None:
        self.facts = facts
        self.routes = routes
        self.enricher = enricher

    @classmethod
    def without_store(cls, routes: RoutesConfig, client: AscClient | None = None) -> Self:
        """A builder for bodies only, over no stored facts (see :class:`NoFacts`)."""
        facts = NoFacts()
        return cls(facts=facts, routes=routes, enricher=Enricher(client, facts))

    def for_delivery(
        self, event: Event, route: Route, stored: Details | None, *, unavailable: str | None = None
    ) -> DeliveryContext:
        """The context of one delivery of a stored ``event`` by ``route``; ``stored`` is what
        the event already has. Fetches (and stores) the details when the route enriches and
        no delivery of the event fetched them yet; ``unavailable`` gives up on fetching and
        records why. Raises AscTransientError: the delivery waits and tries again."""
        enriched = self.routes.enriches(route, event.source)
        details = stored
        if enriched and details is None and event.instance is not None:
            details = self.enricher.details(event, unavailable=unavailable)
        return self._context(event, enriched, details, received_at=0.0)

    def for_body(self, event: Event, route: Route, *, now: float) -> DeliveryContext:
        """The context a body that is not stored would get (``bridge simulate``, the payload
        tester): the stored details when the event is stored, else asked for now and not
        stored; review times as if the event were received ``now``. Raises
        AscTransientError."""
        enriched = self.routes.enriches(route, event.source)
        details = None
        if enriched and event.instance is not None:
            details = self.facts.details(event.source, event.id) or self.enricher.fetch(event)
        return self._context(event, enriched, details, received_at=now)

    def _context(
        self, event: Event, enriched: bool, details: Details | None, *, received_at: float
    ) -> DeliveryContext:
        review = review_as_of(self.facts, event, received_at=received_at)
        return DeliveryContext(
            enriched=enriched,
            details=details.data if details is not None and enriched else None,
            review=review.as_dict() if review is not None else None,
            event_state=event.new_state,
        )
