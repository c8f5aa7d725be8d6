"""routes.yaml: load and validate it into typed objects (matching: ``bridge.matching``).

The contract is docs/architecture.md, "Contract: routes.yaml"; the shape of the file is
``routes.schema.json`` (also used by editors). :func:`load_routes` reports every problem at
once, each as ``file:line: path: message``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError

from bridge.errors import ConfigError
from bridge.providers import PROVIDERS, appstoreconnect
from bridge.routing.document import Path, Report, interpolate, parse_yaml, suggest
from bridge.routing.sandbox import environment, is_template
from bridge.routing.schema import validate


@dataclass(frozen=True, slots=True)
class Source:
    """A key of ``sources:``: one webhook endpoint, ``POST /webhooks/<name>``."""

    name: str
    provider: str  # "appstoreconnect" | "pgyer"
    secrets: tuple[str, ...]  # Apple webhook secrets, or Pgyer URL tokens; never empty
    enrich: bool = False  # fetch each event's resource from the App Store Connect API
    webhook_id: str | None = None  # the App Store Connect webhook posting here (reconcile)


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

    ``values`` hold the YAML scalars as parsed; :func:`match` compares them leniently across
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


# Which keys carry a provider's credentials: (one value, a list while rotating).
_CREDENTIALS = {"appstoreconnect": ("secret", "secrets"), "pgyer": ("token", "tokens")}
# What `when: {event.<field>: …}` may name: the normalized Event
# (docs/architecture.md, "The normalized event").
_EVENT_FIELDS = ("source", "provider", "type", "id", "old_state", "new_state", "timestamp")
_EVENT_PATHS = frozenset({*_EVENT_FIELDS, "instance", "instance.type", "instance.id"})
# Every state value a provider puts in old_state/new_state; providers not listed send none.
_STATES = {appstoreconnect.NAME: appstoreconnect.STATES}


def load_routes(path: str | os.PathLike[str], environ: Mapping[str, str]) -> RoutesConfig:
    """Read, interpolate (``${VAR}`` from ``environ``), validate and build routes.yaml.

    Raises RoutesError listing every problem found: file missing or unreadable, YAML syntax,
    unset variables, schema violations (unknown keys, wrong types, missing keys, GitHub's
    dispatch limits), and cross-checks (duplicate names, unknown sources, credentials,
    dispatch kind, templates that do not compile). Suspicious but valid things (an event
    type no provider sends, an unknown App Store Connect state) become ``warnings``.
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise RoutesError([f"{file}: cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise RoutesError([f"{file}: is not UTF-8 text (byte {exc.start})"]) from None
    report = Report(file)
    data, ok = parse_yaml(text, report)
    if ok and data is None:
        report.problem((), "the file is empty; expected `sources:` and `routes:`")
    if not ok or data is None:
        raise RoutesError(report.problems)
    data = interpolate(data, environ, report)
    validate(data, report)
    _check(data, report)
    if report.problems:
        raise RoutesError(report.problems)
    config = _build(file, data)
    _warn(config, data, report)
    return RoutesConfig(config.path, config.sources, config.routes, tuple(report.warnings))


# --- cross-checks the schema cannot express ---------------------------------------------


def _items(value: object) -> Iterator[tuple[str, Any]]:
    yield from value.items() if isinstance(value, dict) else ()


def _strings(path: Path, value: object) -> Iterator[tuple[Path, str]]:
    """The strings of a "string or list of strings" value, each with its own path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        yield from (((*path, i), item) for i, item in enumerate(value) if isinstance(item, str))


def _check(data: Any, report: Report) -> None:
    sources = data.get("sources") if isinstance(data, dict) else None
    webhooks: dict[str, str] = {}
    for name, source in _items(sources):
        if isinstance(source, dict):
            _check_source(("sources", name), source, report)
            webhook = source.get("webhook_id")
            if isinstance(webhook, str) and webhook in webhooks:
                message = (
                    f"webhook {webhook!r} is already the webhook of source {webhooks[webhook]!r}"
                )
                report.problem(
                    ("sources", name, "webhook_id"), message + " (one webhook posts to one source)"
                )
            elif isinstance(webhook, str):
                webhooks[webhook] = name
    routes = data.get("routes") if isinstance(data, dict) else None
    first_line: dict[str, int | None] = {}
    for i, route in enumerate(routes if isinstance(routes, list) else ()):
        if not isinstance(route, dict):
            continue
        here: Path = ("routes", i)
        route_name = route.get("name")
        if isinstance(route_name, str) and route_name in first_line:
            first = first_line[route_name]
            message = f"duplicate route name {route_name!r} (first used on line {first})"
            report.problem((*here, "name"), message)
        elif isinstance(route_name, str):
            first_line[route_name] = report.line((*here, "name"))
        if isinstance(sources, dict):
            for ref_path, ref in _strings((*here, "source"), route.get("source")):
                if ref not in sources:
                    known = ", ".join(sorted(sources))
                    hint = suggest(ref, sources)
                    shown = report.show(ref_path, ref)
                    report.problem(ref_path, f"unknown source {shown} (sources: {known}){hint}")
        for key, _ in _items(route.get("when")):
            _check_when_path((*here, "when", key), key, report)
        if isinstance(route.get("dispatch"), dict):
            _check_dispatch((*here, "dispatch"), route["dispatch"], report)


def _check_source(here: Path, source: dict[str, Any], report: Report) -> None:
    """Fail closed: a source must carry credentials of its own provider, one way."""
    provider = source.get("provider")
    if provider not in _CREDENTIALS:
        return
    one, many = _CREDENTIALS[provider]
    article = "an" if provider[0] in "aeiou" else "a"
    for other, keys in _CREDENTIALS.items():
        for key in keys if other != provider else ():
            if key in source:
                takes = f"{article} {provider} source takes `{one}` or `{many}`"
                report.problem((*here, key), f"`{key}` is for {other} sources; {takes}")
    if provider != appstoreconnect.NAME:
        for key in ("enrich", "webhook_id"):
            if key in source:
                message = f"`{key}` is for appstoreconnect sources (the App Store Connect API)"
                report.problem((*here, key), message)
    if one in source and many in source:
        report.problem((*here, many), f"give `{one}` or `{many}`, not both")
    elif one not in source and many not in source:
        report.problem(here, f"{article} {provider} source needs `{one}` or `{many}`")


def _check_when_path(here: Path, key: str, report: Report) -> None:
    head, _, rest = key.partition(".")
    if "" in key.split("."):
        report.problem(here, "is not a dot path: a segment is empty")
    elif head == "event" and rest not in _EVENT_PATHS:
        known = [f"event.{name}" for name in sorted(_EVENT_PATHS)]
        hint = suggest(key, known)
        report.problem(here, f"names no event field (known: {', '.join(known)}){hint}")
    elif key == "payload":
        report.problem(here, "names no field; write payload.<field> or <field>")


def _check_dispatch(here: Path, dispatch: dict[str, Any], report: Report) -> None:
    # https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
    # https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
    repository_keys = [key for key in ("event_type", "client_payload") if key in dispatch]
    workflow_keys = [key for key in ("workflow", "ref", "inputs") if key in dispatch]
    missing = [f"`{key}`" for key in ("workflow", "ref") if key not in dispatch]
    if repository_keys and workflow_keys:
        report.problem(
            here,
            f"mixes repository_dispatch keys ({', '.join(repository_keys)}) with "
            f"workflow_dispatch keys ({', '.join(workflow_keys)}); a route sends one kind",
        )
    elif not repository_keys and not workflow_keys:
        report.problem(
            here,
            "needs `event_type` (repository_dispatch) or `workflow` and `ref` (workflow_dispatch)",
        )
    elif repository_keys and "event_type" not in dispatch:
        report.problem(here, "`client_payload` needs `event_type` (repository_dispatch)")
    elif workflow_keys and missing:
        report.problem(
            here, f"workflow_dispatch needs `workflow` and `ref`; missing {' and '.join(missing)}"
        )
    payload = dispatch.get("client_payload")
    if isinstance(payload, dict) and "bridge" in payload:
        report.problem(
            (*here, "client_payload", "bridge"),
            "the top-level key `bridge` is reserved: bridge adds it to every client_payload, "
            "carrying the delivery's correlation id",
        )
    for key in ("client_payload", "inputs"):
        _check_templates((*here, key), dispatch.get(key), report)


def _check_templates(here: Path, value: object, report: Report) -> None:
    """Compile every template now, so that a typo fails the load, not a delivery."""
    if isinstance(value, str) and is_template(value):
        try:
            environment().from_string(value)
        except TemplateSyntaxError as exc:
            detail = f": {exc.message}" if here not in report.interpolated else ""
            report.problem(here, f"template does not compile{detail}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_templates((*here, key), item, report)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_templates((*here, i), item, report)


# --- typed objects and warnings (the data is valid here) ----------------------------------


def _names(value: str | list[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


def _build(file: str, data: dict[str, Any]) -> RoutesConfig:
    sources = {}
    for name, raw in data["sources"].items():
        one, many = _CREDENTIALS[raw["provider"]]
        secrets = (raw[one],) if one in raw else tuple(raw[many])
        sources[name] = Source(
            name, raw["provider"], secrets, raw.get("enrich", False), raw.get("webhook_id")
        )
    routes = []
    for raw in data.get("routes") or ():
        events = _names(raw["event"])
        routes.append(
            Route(
                name=raw["name"],
                sources=_names(raw.get("source")),
                events=None if events is None or "*" in events else events,
                from_states=_names(raw.get("from")),
                to_states=_names(raw.get("to")),
                when=tuple(
                    Condition(path, tuple(value) if isinstance(value, list) else (value,))
                    for path, value in (raw.get("when") or {}).items()
                ),
                dispatch=_dispatch(raw["dispatch"]),
                description=raw.get("description"),
                enrich=raw.get("enrich", False),
            )
        )
    return RoutesConfig(file, sources, tuple(routes))


def _dispatch(raw: dict[str, Any]) -> Dispatch:
    if "event_type" in raw:
        return RepositoryDispatch(raw["repository"], raw["event_type"], raw.get("client_payload"))
    return WorkflowDispatch(raw["repository"], raw["workflow"], raw["ref"], raw.get("inputs"))


def _warn(config: RoutesConfig, data: dict[str, Any], report: Report) -> None:
    """Mistakes that still load: event types nobody sends, states nobody sends, and unquoted
    numbers in ``when`` that YAML reads differently from how they look."""
    for i, (route, raw) in enumerate(zip(config.routes, data.get("routes") or (), strict=True)):
        here: Path = ("routes", i)
        names = route.sources if route.sources is not None else config.sources.keys()
        receivable = {config.sources[name].provider for name in names}
        _warn_events(here, raw["event"], receivable if route.sources is not None else None, report)
        if route.events is not None:  # only providers that send one of the events
            senders = {p for p in receivable if PROVIDERS[p].EVENT_TYPES & route.events}
            receivable = senders or receivable  # a typo in `event` was warned about above
        if route.enrich and appstoreconnect.NAME not in receivable:
            message = "only App Store Connect events are enriched: this route receives none"
            report.warning((*here, "enrich"), message)
        if len(receivable) == 1:
            _warn_states(here, raw, receivable.pop(), report)
        for key, value in (raw.get("when") or {}).items():
            for item, item_value in _scalars((*here, "when", key), value):
                text = report.number_texts.get(item)
                if text is not None and text != str(item_value):
                    message = f'{text} is read as the number {item_value!r}; quote it ("{text}")'
                    report.warning(item, f"{message} to compare it as text")


def _warn_events(here: Path, value: object, providers: set[str] | None, report: Report) -> None:
    """``providers`` None: the route takes any source, so only warn if no provider knows it."""
    senders = providers if providers is not None else set(PROVIDERS)
    known = frozenset().union(*(PROVIDERS[p].EVENT_TYPES for p in senders))
    who = " or ".join(sorted(senders)) if providers is not None else "any provider"
    for item, name in _strings((*here, "event"), value):
        if name != "*" and name not in known:
            message = f"{report.show(item, name)} is not an event type {who} sends"
            report.warning(item, message + suggest(name, known))


def _warn_states(here: Path, raw: dict[str, Any], provider: str, report: Report) -> None:
    states = _STATES.get(provider)
    for key in ("from", "to"):
        if key in raw and states is None:
            report.warning((*here, key), f"{provider} events carry no state: this never matches")
        for item, state in _strings((*here, key), raw.get(key) if states else None):
            if states and state not in states:
                message = f"{report.show(item, state)} is not a state {provider} sends"
                report.warning(item, message + suggest(state, states))


def _scalars(path: Path, value: object) -> Iterator[tuple[Path, object]]:
    if isinstance(value, list):
        yield from (((*path, i), item) for i, item in enumerate(value))
    else:
        yield path, value
