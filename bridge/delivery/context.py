"""What bridge knows about an event beyond its webhook body, gathered before rendering: the
App Store Connect details (fetched once per event, for routes that enrich) and App Review
times (from the stored history of the version)."""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable

from bridge.appstoreconnect import enrichment
from bridge.appstoreconnect.client import AscClient, AscError, AscTransientError
from bridge.appstoreconnect.review_times import stored_review
from bridge.delivery.rendering import Known
from bridge.events import Event
from bridge.routing.model import Route, RoutesConfig
from bridge.store import Details, Store

log = logging.getLogger(__name__)
_LOCKS = 64  # events fetched at once per process (by hash of the event; others go on)


class KnownFacts:
    def __init__(
        self,
        *,
        store: Store,
        routes: RoutesConfig,
        asc: AscClient | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.routes = routes
        self.asc = asc
        self._locks = tuple(threading.Lock() for _ in range(_LOCKS))
        # App Store Connect answered 429 with Retry-After: no request before this time (the
        # limit is per key and hour: every delivery asking on its own would only prolong it).
        self._paused_until = 0.0
        self.clock = clock

    def known(
        self, event: Event, stored: Details | None, route: Route, *, unavailable: str | None = None
    ) -> Known:
        """The facts for one delivery of ``event`` by ``route``; ``stored`` is what the event
        already has. Fetches the details when the route enriches and no delivery of the event
        fetched them yet; ``unavailable`` gives up on fetching and records why.
        Raises AscTransientError: the delivery waits and tries again."""
        enriched = self.routes.enriches(route, event.source)
        details = stored
        if enriched and details is None and event.instance is not None:
            details = self._details(event, unavailable)
        times = stored_review(
            self.store, event_type=event.type, instance=event.instance, event_id=event.id
        )
        return Known(
            enriched=enriched,
            details=details.data if details is not None and enriched else None,
            review=times.as_dict() if times is not None else None,
        )

    def _details(self, event: Event, unavailable: str | None) -> Details:
        """Fetch once per event: one thread of this process per event (a lock by the event's
        hash), and across processes the first stored answer wins, so every route of an event
        sends the same details."""
        key = zlib.crc32(f"{event.source}\0{event.id}".encode())
        with self._locks[key % _LOCKS]:
            stored = self.store.details(event.source, event.id)  # another route's delivery?
            if stored is not None:
                return stored
            found = Details(error=unavailable) if unavailable else self._fetch(event)
            return self.store.save_details(event.source, event.id, found)

    def _fetch(self, event: Event) -> Details:
        if self.asc is None:
            return Details(error="the App Store Connect API key is not configured")
        if event.instance is None:  # pragma: no cover - known() checks
            return Details(error="the event names no resource")
        wait = self._paused_until - self.clock()
        if wait > 0:
            message = f"rate limited: App Store Connect asked to wait {wait:.0f} s more"
            raise AscTransientError(message, status=429, retry_after=wait)
        try:
            return Details(data=enrichment.fetch(self.asc, event.instance))
        except AscTransientError as exc:
            if exc.status == 429 and exc.retry_after:
                self._paused_until = max(self._paused_until, self.clock() + exc.retry_after)
            raise
        except AscError as exc:  # gone, refused, invalid: deliver without details
            log.warning(
                "delivering without App Store Connect details: %s", exc.message,
                extra={"event_id": event.id, "source": event.source},
            )  # fmt: skip
            return Details(error=exc.message)
