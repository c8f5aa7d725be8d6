"""Webhook providers: one module each, turning raw request parts into an :class:`Event`.

A provider module exposes ``NAME``, ``EVENT_TYPES`` and the three functions of
:class:`Provider`. Adding a provider means adding a module and a line to ``PROVIDERS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bridge.events import Event
from bridge.providers import appstoreconnect, pgyer


class Provider(Protocol):
    NAME: str
    EVENT_TYPES: frozenset[str]

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

    def parse(self, body: bytes, *, source: str) -> Event:
        """Raise PayloadError unless ``body`` is an event of this provider."""

    def credentials(self, body: bytes, secret: str) -> tuple[dict[str, str], dict[str, str]]:
        """Headers and query parameters that authenticate ``body`` (for ``bridge send``)."""


PROVIDERS: Mapping[str, Provider] = {
    appstoreconnect.NAME: appstoreconnect,
    pgyer.NAME: pgyer,
}
