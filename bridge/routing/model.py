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
    silent_after: float | None = None  # seconds without an event before it is reported
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


@dataclass(frozen=True, slots=True)
class Notify:
    """``notify:``: post a message to each of ``targets`` (keys of ``targets:``), one delivery
    per target."""

    targets: tuple[str, ...]
    text: str | None = None  # a template replacing the default message
    mention: tuple[str, ...] = ()  # "all", or ids the target's service understands


Dispatch = RepositoryDispatch | WorkflowDispatch | Notify


@dataclass(frozen=True, slots=True)
class Target:
    """A key of ``targets:``: a chat room or HTTP endpoint (docs/architecture.md, "Contract:
    chat and HTTP targets, alerts"). Values may hold secrets: never log them as they are."""

    name: str
    kind: str  # a key of bridge.notify.kinds.KINDS
    url: str | None = None
    secret: str | None = None
    token: str | None = None  # telegram
    chat_id: str | None = None  # telegram
    api_url: str | None = None  # telegram
    headers: Mapping[str, str] | None = None  # webhook: templates
    body: Mapping[str, Any] | None = None  # webhook: templates; None = the standard payload
    rate_limit: int | None = None  # messages per minute; None = the service's documented limit


@dataclass(frozen=True, slots=True)
class Alerts:
    """``alerts:``: targets told of deliveries that fail (``failed``) or are stuck."""

    failed: str | None = None
    stuck: str | None = None
    stuck_after: float = 15 * 60.0  # seconds


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
    # The warnings about destinations that are still the example's placeholder default
    # (also in ``warnings``): shown again at startup and on /readyz.
    placeholders: tuple[str, ...] = field(default=())
    targets: Mapping[str, Target] = field(default_factory=dict)
    alerts: Alerts = field(default_factory=Alerts)
    # value → "${NAME}": every value ${VAR} put in a target, shown as its reference instead
    secrets: Mapping[str, str] = field(default_factory=dict)

    def route(self, name: str) -> Route | None:
        """The route a delivery belongs to: ``name`` is a route name or, for a notify route,
        ``route/target`` (a delivery's key, see :func:`delivery_keys`)."""
        route_name = name.partition("/")[0]
        return next((r for r in self.routes if r.name == route_name), None)

    def target(self, key: str) -> Target | None:
        """The target of a notify delivery's key ``route/target``; None for a dispatch."""
        _, slash, target = key.partition("/")
        return self.targets.get(target) if slash else None

    def enriches(self, route: Route, source: str) -> bool:
        """Whether ``route``, for an event from ``source``, gets the App Store Connect details."""
        configured = self.sources.get(source)
        if configured is None or configured.provider != appstoreconnect.NAME:
            return False
        return route.enrich or configured.enrich

    @property
    def dispatches_to_github(self) -> bool:
        """Some route sends a GitHub dispatch (then credentials are needed)."""
        return any(not isinstance(r.dispatch, Notify) for r in self.routes)

    @property
    def uses_asc_api(self) -> bool:
        """Some source or route asks for enrichment: the API key must be configured."""
        asc = [s for s in self.sources.values() if s.provider == appstoreconnect.NAME]
        return any(s.enrich for s in asc) or (bool(asc) and any(r.enrich for r in self.routes))


def delivery_keys(route: Route) -> tuple[str, ...]:
    """What the store records as a delivery's route: the route's name for a GitHub dispatch,
    ``route/target`` per target for a notify route (route names cannot contain ``/``)."""
    if isinstance(route.dispatch, Notify):
        return tuple(f"{route.name}/{target}" for target in route.dispatch.targets)
    return (route.name,)


class RoutesError(ConfigError):
    """routes.yaml is invalid. ``problems`` lists every problem found, each naming the file,
    the line (when known), the path inside the document, and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
