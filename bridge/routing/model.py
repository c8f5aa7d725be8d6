"""routes.yaml as typed, frozen objects: what :func:`bridge.routing.load.load_routes` builds
and what matching, rendering and delivery read. The contract is docs/architecture.md,
"Contract: routes.yaml"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import ConfigError
from bridge.providers import appstoreconnect


@dataclass(frozen=True, slots=True)
class Source:
    """A key of ``sources:``: one webhook endpoint, ``POST /webhooks/<name>``."""

    name: str
    provider: str  # a key of bridge.providers.PROVIDERS
    secrets: tuple[str, ...]  # under the provider's CREDENTIAL_KEYS, in order; never empty
    enrich: bool = False  # fetch each event's resource from the App Store Connect API
    webhook_id: str | None = None  # the App Store Connect webhook posting here (reconcile)
    # `limit:` (off by default): past either, this source's webhooks get 429 (bridge.intake.budget)
    events_per_minute: int | None = None
    mib_per_day: int | None = None
    # `max_age:` (appstoreconnect, off by default): refuse a delivery whose signed timestamp
    # is older than this many seconds (bridge.intake.freshness)
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class RepositoryDispatch:
    repository: str  # "owner/name"
    event_type: str
    client_payload: Mapping[str, Any] | None  # templates; None = the standard payload


@dataclass(frozen=True, slots=True)
class WorkflowDispatch:
    repository: str
    workflow: str
    ref: str
    inputs: Mapping[str, Any] | None  # templates


Dispatch = RepositoryDispatch | WorkflowDispatch


@dataclass(frozen=True, slots=True)
class Condition:
    """``when: {path: value-or-list}``: the field at ``path`` equals one of ``values``.

    ``values`` hold the YAML scalars as parsed; :func:`bridge.routing.matching.match`
    compares them leniently across
    YAML and JSON forms (``2.4`` equals ``"2.4"``; booleans only equal booleans)."""

    path: str
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    sources: frozenset[str] | None  # None = any source
    events: frozenset[str] | None  # None = "*"
    from_states: frozenset[str] | None  # None = any (including no state)
    to_states: frozenset[str] | None
    when: tuple[Condition, ...]
    dispatch: Dispatch
    description: str | None = None
    enrich: bool = False


@dataclass(frozen=True, slots=True)
class RoutesConfig:
    path: str
    sources: Mapping[str, Source]
    routes: tuple[Route, ...]
    warnings: tuple[str, ...] = field(default=())  # "file:line: path: message", for logs

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def enriches(self, route: Route, source: str) -> bool:
        """Whether ``route``, for an event from ``source``, gets the App Store Connect details."""
        configured = self.sources.get(source)
        if configured is None or configured.provider != appstoreconnect.NAME:
            return False
        return route.enrich or configured.enrich

    @property
    def uses_asc_api(self) -> bool:
        """Some source or route asks for enrichment: the API key must be configured."""
        asc = [s for s in self.sources.values() if s.provider == appstoreconnect.NAME]
        return any(s.enrich for s in asc) or (bool(asc) and any(r.enrich for r in self.routes))


class RoutesError(ConfigError):
    """routes.yaml is invalid. ``problems`` lists every problem found, each naming the file,
    the line (when known), the path inside the document, and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
