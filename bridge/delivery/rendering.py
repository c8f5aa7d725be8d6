"""Render a route's dispatch for one event into the exact request sent to GitHub.

Templates run in the sandboxed environment of :mod:`bridge.routing.sandbox` over ``event``
(with ``event.review``), ``payload``, ``delivery``, ``details`` (the App Store Connect
resource's attributes, when the route enriches) and ``summary`` (the compact details). The
result is checked against GitHub's documented limits; a template error or a limit exceeded
raises :class:`~bridge.errors.RenderError`, which fails that delivery with the reason
(retrying cannot fix it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Template

from bridge.appstoreconnect.details import summary, template_details
from bridge.delivery.context import EMPTY_CONTEXT, DeliveryContext
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.errors import RenderError
from bridge.events import Event
from bridge.routing.model import Notify, RepositoryDispatch, Route
from bridge.routing.sandbox import environment, is_template

# https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
MAX_EVENT_TYPE_CHARS = 100
MAX_CLIENT_PAYLOAD_KEYS = 10
MAX_CLIENT_PAYLOAD_BYTES = 64 * 1024  # "total JSON < 64 KB"
# https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
MAX_INPUTS = 25
MAX_INPUTS_CHARS = 65_535

CORRELATION_KEY = "bridge"
DETAILS_KEY = "details"


def correlation(route: Route, delivery_id: str) -> dict[str, str]:
    """The ``bridge`` key every client_payload carries, tying a workflow run to its event."""
    return {"delivery_id": delivery_id, "route": route.name}


def standard_payload(
    event: Event, route: Route, delivery_id: str, context: DeliveryContext = EMPTY_CONTEXT
) -> dict[str, Any]:
    """The client_payload sent when a route gives none (docs/architecture.md,
    "Contract: routes.yaml"): 9 keys, 10 with ``details`` (enrichment on, or review times
    known; null when enrichment found nothing)."""
    payload: dict[str, Any] = {
        "source": event.source,
        "provider": event.provider,
        "event": event.type,
        "event_id": event.id,
        "old_state": event.old_state,
        "new_state": event.new_state,
        "instance": event.instance.as_dict() if event.instance else None,
        "timestamp": event.timestamp,
        CORRELATION_KEY: correlation(route, delivery_id),
    }
    if context.in_standard_payload:
        payload[DETAILS_KEY] = context.standard_details()
    return payload


def template_variables(
    event: Event, route: Route, delivery_id: str, context: DeliveryContext = EMPTY_CONTEXT
) -> dict[str, Any]:
    return {
        "event": {**event.as_dict(), "review": context.review},
        "payload": event.payload,
        "delivery": {"id": delivery_id, "route": route.name},
        "details": template_details(context.details),
        "summary": (
            summary(context.details, event_state=event.new_state)
            if context.details is not None
            else {}
        ),
    }


def build_request(
    route: Route, event: Event, *, delivery_id: str, context: DeliveryContext = EMPTY_CONTEXT
) -> DispatchRequest:
    """The request ``route`` sends for ``event``. Raises RenderError (see module docstring)."""
    spec = route.dispatch
    if isinstance(spec, Notify):
        raise RenderError(f"route {route.name!r} notifies targets: bridge.notify renders it")
    variables = template_variables(event, route, delivery_id, context)
    if isinstance(spec, RepositoryDispatch):
        if spec.client_payload is None:
            client_payload = standard_payload(event, route, delivery_id, context)
        else:
            client_payload = _render_mapping(spec.client_payload, variables, "client_payload")
            client_payload[CORRELATION_KEY] = correlation(route, delivery_id)
        _check_client_payload(spec.event_type, client_payload)
        body: dict[str, Any] = {"event_type": spec.event_type, "client_payload": client_payload}
        return DispatchRequest("repository_dispatch", spec.repository, body)
    inputs = _render_mapping(spec.inputs or {}, variables, "inputs")
    _check_inputs(inputs)
    # return_run_details: GitHub answers 200 with the run's id and URL (2026-02-19 changelog)
    body = {"ref": spec.ref, "inputs": inputs, "return_run_details": True}
    return DispatchRequest("workflow_dispatch", spec.repository, body, workflow=spec.workflow)


def _check_client_payload(event_type: str, client_payload: Mapping[str, Any]) -> None:
    if len(event_type) > MAX_EVENT_TYPE_CHARS:
        raise RenderError(f"event_type is {len(event_type)} characters; GitHub allows 100")
    if len(client_payload) > MAX_CLIENT_PAYLOAD_KEYS:
        raise RenderError(
            f"client_payload has {len(client_payload)} top-level keys; GitHub allows "
            f"{MAX_CLIENT_PAYLOAD_KEYS}"
        )
    size = len(_to_json(client_payload, "client_payload").encode())
    if size >= MAX_CLIENT_PAYLOAD_BYTES:
        raise RenderError(f"client_payload is {size} bytes of JSON; GitHub requires < 64 KB")


def _check_inputs(inputs: Mapping[str, Any]) -> None:
    if len(inputs) > MAX_INPUTS:
        raise RenderError(f"inputs has {len(inputs)} keys; GitHub allows {MAX_INPUTS}")
    chars = len(_to_json(inputs, "inputs"))
    if chars > MAX_INPUTS_CHARS:
        raise RenderError(f"inputs are {chars} characters of JSON; GitHub allows 65,535")


def _to_json(value: Any, where: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{where} cannot be sent as JSON: {exc}") from None


def _render_mapping(
    templates: Mapping[str, Any], variables: Mapping[str, Any], where: str
) -> dict[str, Any]:
    return {key: _render(value, variables, f"{where}.{key}") for key, value in templates.items()}


def render_value(value: Any, variables: Mapping[str, Any], where: str) -> Any:
    """``value`` with every template string in it rendered (mappings and lists walked);
    ``where`` names it in the RenderError a failing template raises."""
    return _render(value, variables, where)


def _render(value: Any, variables: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            return _compile(value).render(variables)
        except Exception as exc:  # any error a user's template raises fails this delivery
            raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from None
    if isinstance(value, Mapping):
        return _render_mapping(value, variables, where)
    if isinstance(value, list):
        return [_render(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


@lru_cache(maxsize=1024)
def _compile(source: str) -> Template:
    return environment().from_string(source)
