"""A notify delivery's exact request: the route's ``text:`` or the default message for the
event, formatted for the target's kind. Used by the dispatcher, the delivery log's preview,
``bridge simulate`` and the payload tester, so every one shows what is sent."""

from __future__ import annotations

from dataclasses import replace

from bridge.delivery.context import EMPTY_CONTEXT, DeliveryContext
from bridge.delivery.rendering import render_value, standard_payload, template_variables
from bridge.errors import RenderError
from bridge.events import Event
from bridge.notify.defaults import default_message
from bridge.notify.kinds import KINDS
from bridge.notify.kinds.base import Compose
from bridge.notify.message import Message
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Notify, RoutesConfig, Target


def build_notify(
    routes: RoutesConfig,
    key: str,
    event: Event,
    *,
    delivery_id: str,
    context: DeliveryContext = EMPTY_CONTEXT,
    log_url: str | None = None,
) -> NotifyRequest:
    """The request of the notify delivery ``key`` (``route/target``) for ``event``.
    ``log_url``: the event's page in the delivery log, linked from the message. Raises
    RenderError (the route or target is gone, a template fails)."""
    route = routes.route(key)
    target = routes.target(key)
    if route is None or not isinstance(route.dispatch, Notify) or target is None:
        raise RenderError(f"{key!r} is no longer a route and target in routes.yaml")
    spec = route.dispatch
    variables = template_variables(event, route, delivery_id, context)
    if spec.text is not None:
        text = str(render_value(spec.text, variables, f"routes.{route.name}.notify.text"))
        message = Message("", text=text, mention=spec.mention)
    else:
        message = replace(default_message(event, context, log_url=log_url), mention=spec.mention)
    compose = Compose(
        target,
        message,
        routes.secrets,
        variables,
        standard_payload(event, route, delivery_id, context),
        delivery_id,
    )
    return KINDS[target.kind].build(compose)


def build_message(
    routes: RoutesConfig, target: Target, message: Message, *, delivery_id: str = ""
) -> NotifyRequest:
    """A message of bridge's own (an alert, a test message) for ``target``. A ``webhook``
    target with a ``body`` template gets it rendered over ``alert`` (title and text)."""
    variables = {"alert": {"title": message.title, "text": message.plain()}}
    compose = Compose(target, message, routes.secrets, variables, {}, delivery_id)
    return KINDS[target.kind].build(compose)
