"""The checks of routes.yaml that its JSON schema cannot express: problems (the file does not
load) and warnings (mistakes that still load), both recorded in a :class:`Report`. What a
provider sends (event types, states, credential keys) comes from ``PROVIDERS``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError

from bridge.providers import PROVIDERS, appstoreconnect
from bridge.routing.document import Path, Report, suggest
from bridge.routing.event_checks import strings as _strings
from bridge.routing.event_checks import warn_events, warn_states
from bridge.routing.model import RoutesConfig
from bridge.routing.sandbox import environment, is_template

# What `when: {event.<field>: …}` may name: the fields of the normalized Event.
_EVENT_FIELDS = ("source", "provider", "type", "id", "old_state", "new_state", "timestamp")
_EVENT_PATHS = frozenset({*_EVENT_FIELDS, "instance", "instance.type", "instance.id"})


def _items(value: object) -> Iterator[tuple[str, Any]]:
    """The entries of ``value`` when it is a mapping (the schema may have failed), else none."""
    yield from value.items() if isinstance(value, dict) else ()


# --- problems: the file does not load ----------------------------------------------------


def report_problems(data: Any, report: Report) -> None:
    """Record in ``report`` what makes ``data`` unloadable although the schema cannot tell:
    duplicate route names, unknown sources, a webhook given to two sources, a source's
    credentials, ``when`` paths, the dispatch kind, templates that do not compile. ``data``
    may also break the schema (those problems are already reported), so every value is
    type-checked before use."""
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
    """Fail closed: a source must carry credentials of its own provider, one way. The keys
    are each provider's ``CREDENTIAL_KEYS``."""
    provider = source.get("provider")
    if not isinstance(provider, str) or provider not in PROVIDERS:
        return  # the schema reports it (and a list or mapping is no key to look up)
    one, many = PROVIDERS[provider].CREDENTIAL_KEYS
    article = "an" if provider[0] in "aeiou" else "a"
    reported = {one, many}  # each foreign key once, naming the first provider it is for
    for other, other_provider in PROVIDERS.items():
        for key in other_provider.CREDENTIAL_KEYS if other != provider else ():
            if key in source and key not in reported:
                reported.add(key)
                takes = f"{article} {provider} source takes `{one}` or `{many}`"
                report.problem((*here, key), f"`{key}` is for {other} sources; {takes}")
    if provider != appstoreconnect.NAME:
        for key in ("enrich", "webhook_id", "max_age"):
            if key in source:
                message = f"`{key}` is for appstoreconnect sources (the App Store Connect API)"
                report.problem((*here, key), message)
    if one in source and many in source:
        report.problem((*here, many), f"give `{one}` or `{many}`, not both")
    elif one not in source and many not in source:
        report.problem(here, f"{article} {provider} source needs `{one}` or `{many}`")


def _check_when_path(here: Path, key: str, report: Report) -> None:
    """A ``when`` key is a dot path; under ``event.`` it names a field of the Event."""
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
    repository = dispatch.get("repository")
    if isinstance(repository, str) and "${" in repository:  # only from `$${` once interpolated
        report.problem((*here, "repository"), "must be owner/name, e.g. acme/ios-app")
    payload = dispatch.get("client_payload")
    if isinstance(payload, dict) and "bridge" in payload:
        report.problem(
            (*here, "client_payload", "bridge"),
            "the top-level key `bridge` is reserved: bridge adds it to every client_payload, "
            "carrying the delivery's correlation id",
        )
    for key in ("client_payload", "inputs"):
        check_templates((*here, key), dispatch.get(key), report)


def check_templates(here: Path, value: object, report: Report) -> None:
    """Compile every template now, so that a typo fails the load, not a delivery."""
    if isinstance(value, str) and is_template(value):
        try:
            environment().from_string(value)
        except TemplateSyntaxError as exc:
            detail = f": {exc.message}" if here not in report.interpolated else ""
            report.problem(here, f"template does not compile{detail}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_templates((*here, key), item, report)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_templates((*here, i), item, report)


# --- warnings (the data is valid here) ----------------------------------------------------


def report_warnings(config: RoutesConfig, data: dict[str, Any], report: Report) -> None:
    """Mistakes that still load: event types nobody sends, states nobody sends, and unquoted
    numbers in ``when`` that YAML reads differently from how they look."""
    for i, (route, raw) in enumerate(zip(config.routes, data.get("routes") or (), strict=True)):
        here: Path = ("routes", i)
        names = route.sources if route.sources is not None else config.sources.keys()
        receivable = {config.sources[name].provider for name in names}
        warn_events(here, raw["event"], receivable if route.sources is not None else None, report)
        if route.events is not None:  # only providers that send one of the events
            senders = {p for p in receivable if PROVIDERS[p].EVENT_TYPES & route.events}
            receivable = senders or receivable  # a typo in `event` was warned about above
        if route.enrich and appstoreconnect.NAME not in receivable:
            message = "only App Store Connect events are enriched: this route receives none"
            report.warning((*here, "enrich"), message)
        if len(receivable) == 1:
            warn_states(here, raw, receivable.pop(), route.events, report)
        for key, value in (raw.get("when") or {}).items():
            for item, item_value in _scalars((*here, "when", key), value):
                text = report.number_texts.get(item)
                if text is not None and text != str(item_value):
                    message = f'{text} is read as the number {item_value!r}; quote it ("{text}")'
                    report.warning(item, f"{message} to compare it as text")


def _scalars(path: Path, value: object) -> Iterator[tuple[Path, object]]:
    """The scalars of a "value or list of values", each with its own path."""
    if isinstance(value, list):
        yield from (((*path, i), item) for i, item in enumerate(value))
    else:
        yield path, value
