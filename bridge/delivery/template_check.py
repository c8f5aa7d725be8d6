"""Render every route's templates before any event arrives (``bridge check``).

A template can compile and still fail when sent: ``{{ event.instanse.id }}`` names nothing,
and the sandbox's strict undefined fails that delivery on release day. Here each route is
rendered against every recorded webhook of the event types it matches (the samples in
``tests/samples/<provider>/``), through :func:`bridge.delivery.outgoing.render` with a
context from :class:`bridge.delivery.context.ContextBuilder`: the code the dispatcher runs, so
``check`` and the real send cannot disagree. A route that enriches gets the recorded App Store
Connect API answer for the event's resource (``api-<type>*.json``) as its stored details.

The samples are read from the source tree; an installation without it renders against each
provider's ``EXAMPLE`` body only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from bridge.appstoreconnect.enrichment import Enricher
from bridge.appstoreconnect.errors import AscTransientError
from bridge.delivery.context import ContextBuilder, NoFacts
from bridge.delivery.outgoing import render
from bridge.errors import PayloadError, RenderError
from bridge.events import Event
from bridge.providers import PROVIDERS
from bridge.routing.model import Notify, Route, RoutesConfig
from bridge.store import Details

SAMPLES = Path(__file__).resolve().parents[2] / "tests" / "samples"
API_PREFIX = "api-"  # App Store Connect API answers, not webhook bodies


@dataclass(frozen=True, slots=True)
class TemplateFailure:
    """``route`` cannot be rendered for the webhook in ``sample``: ``error`` says why."""

    route: str
    sample: str
    error: str

    def __str__(self) -> str:
        return f"route {self.route}: with {self.sample}: {self.error}"


@dataclass(frozen=True, slots=True)
class TemplateReport:
    failures: tuple[TemplateFailure, ...]
    rendered: int  # (route, sample) pairs rendered
    unchecked: tuple[str, ...]  # "route: event type" with no sample to render against


def webhook_samples(provider: str, samples: Path = SAMPLES) -> list[tuple[str, bytes]]:
    """(name, body) of the recorded webhooks of ``provider``, or its ``EXAMPLE`` when the
    source tree's samples are not there."""
    folder = samples / provider
    found = [
        (f"{provider}/{path.name}", path.read_bytes())
        for path in sorted(folder.glob("*.json"))
        if not path.name.startswith(API_PREFIX)
    ]
    if found:
        return found
    return [(f"{provider} example", json.dumps(PROVIDERS[provider].EXAMPLE).encode())]


def api_details(instance_type: str, samples: Path = SAMPLES) -> Details | None:
    """The recorded API answer for a resource of ``instance_type``, shaped as enrichment
    stores it, or None."""
    for path in sorted((samples / "appstoreconnect").glob(f"{API_PREFIX}{instance_type}*.json")):
        data = json.loads(path.read_text(encoding="utf-8")).get("data")
        if isinstance(data, dict):
            found = {"type": instance_type, "id": data.get("id"), "attributes": data["attributes"]}
            return Details(data=found)
    return None


class _SampleFacts(NoFacts):
    """Stored facts of the sample events: only the details, by event id."""

    def __init__(self, details: Mapping[str, Details]) -> None:
        self._details = details

    def details(self, source: str, event_id: str) -> Details | None:
        return self._details.get(event_id)


def check_templates(
    routes: RoutesConfig, samples: Path = SAMPLES, *, now: float = 0.0
) -> TemplateReport:
    """Render each route against each sample of the event types it matches. Sends nothing,
    stores nothing, asks App Store Connect nothing."""
    events = list(_sample_events(routes, samples))
    details = {}
    for _, event in events:
        if event.instance is not None and event.id not in details:
            found = api_details(event.instance.type, samples)
            if found is not None:
                details[event.id] = found
    facts = _SampleFacts(details)
    contexts = ContextBuilder(facts=facts, routes=routes, enricher=Enricher(None, facts))
    failures: list[TemplateFailure] = []
    unchecked: list[str] = []
    rendered = 0
    for route in routes.routes:
        mine = [(n, e) for n, e in events if _receives(route, e)]
        covered = {e.type for _, e in mine}
        unchecked += [f"{route.name}: {t}" for t in sorted((route.events or set()) - covered)]
        for name, event in mine:
            error = _render(contexts, route, event, now)
            rendered += 1
            if error is not None:
                failures.append(TemplateFailure(route.name, name, error))
    return TemplateReport(tuple(failures), rendered, tuple(unchecked))


def _sample_events(routes: RoutesConfig, samples: Path) -> Iterator[tuple[str, Event]]:
    for source in routes.sources.values():
        for name, body in webhook_samples(source.provider, samples):
            try:
                yield name, PROVIDERS[source.provider].parse(body, source=source.name)
            except PayloadError:
                continue  # not a webhook of this provider


def _receives(route: Route, event: Event) -> bool:
    """Whether ``route`` takes events of ``event``'s source and type (states and ``when``
    aside: the shape is what templates depend on)."""
    if route.sources is not None and event.source not in route.sources:
        return False
    return route.events is None or event.type in route.events


def _render(contexts: ContextBuilder, route: Route, event: Event, now: float) -> str | None:
    routes = contexts.routes
    spec = route.dispatch
    keys = [f"{route.name}/{t}" for t in spec.targets] if isinstance(spec, Notify) else [route.name]
    try:
        context = contexts.for_body(event, route, now=now)
        for key in keys:  # a notify route: one message per target, each in its kind's format
            render(routes, key, route, event, delivery_id="check", context=context)
    except RenderError as exc:
        return str(exc)
    except AscTransientError:  # cannot happen without a client; never a template problem
        return None
    return None


def describe(report: TemplateReport) -> Iterator[str]:
    """The lines ``bridge check`` prints about the templates."""
    yield f"templates: {report.rendered} rendering(s) against the recorded webhooks"
    for item in report.unchecked:
        yield f"  not rendered (no recorded webhook of this type): route {item}"
