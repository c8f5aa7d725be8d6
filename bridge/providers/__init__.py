"""Webhook providers: one module each, turning raw request parts into an :class:`Event`.

A provider module is a :class:`Provider`: its constants and functions are the members. It
holds everything bridge knows about that sender (event types, states, the routes.yaml keys of
its credentials, a starting payload), so that routing and the payload tester read it here
instead of naming providers themselves. Adding a provider means adding a module and a line to
``PROVIDERS``, plus its name and credential keys in ``routes.schema.json``, which editors read
as a file (a test says what is missing there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bridge.events import Event
from bridge.providers import appstoreconnect, github, pgyer


class Provider(Protocol):
    # `provider:` in routes.yaml, and Event.provider.
    NAME: str
    # The event types the provider documents. Others still parse (providers add types
    # faster than bridge follows); routes.yaml naming one of these only avoids a warning.
    EVENT_TYPES: frozenset[str]
    # Per event type of EVENT_TYPES, the states its old_state / new_state can take; an empty
    # set: that type carries no state.
    STATES_BY_EVENT_TYPE: Mapping[str, frozenset[str]]
    # Every state of STATES_BY_EVENT_TYPE in one set; empty: the provider's events carry none.
    STATES: frozenset[str]
    # Event types whose payloads may carry the new state only: `from:` never matches those.
    OLD_STATE_OPTIONAL: frozenset[str]
    # The routes.yaml keys of a source's credentials: (one value, a list while rotating).
    CREDENTIAL_KEYS: tuple[str, str]
    # A valid webhook body, offered by the payload tester as a starting point.
    EXAMPLE: Mapping[str, Any]

    def authenticate(
        self,
        body: bytes,
        *,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        secrets: Sequence[str],
    ) -> None:
        """Raise SignatureError unless the request is authentic. ``headers`` keys are
        lower-case (HTTP header names are case-insensitive)."""

    def parse(self, body: bytes, *, source: str, headers: Mapping[str, str] | None = None) -> Event:
        """Raise PayloadError unless ``body`` is an event of this provider. ``headers``
        (lower-case names) as received, when there was a request: GitHub names its events
        in a header; a body alone (simulations, reconcile) is parsed without them."""

    def credentials(self, body: bytes, secret: str) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that authenticate ``body`` (for ``bridge send``)."""


PROVIDERS: Mapping[str, Provider] = {
    appstoreconnect.NAME: appstoreconnect,
    pgyer.NAME: pgyer,
    github.NAME: github,
}
