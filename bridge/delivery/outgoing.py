"""One delivery's request, whatever its destination: a GitHub dispatch (``dispatch:``) or a
chat / HTTP target (``notify:``). The dispatcher, the delivery log's preview and
``bridge simulate`` all render through :func:`render`, so each shows what is sent."""

from __future__ import annotations

from bridge.delivery.context import EMPTY_CONTEXT, DeliveryContext
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.rendering import build_request
from bridge.events import Event
from bridge.notify.render import build_notify
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Notify, Route, RoutesConfig

Outgoing = DispatchRequest | NotifyRequest


def render(
    routes: RoutesConfig,
    key: str,
    route: Route,
    event: Event,
    *,
    delivery_id: str,
    context: DeliveryContext = EMPTY_CONTEXT,
    log_url: str | None = None,
) -> Outgoing:
    """The request of delivery ``key`` (a route name, or ``route/target``) for ``event``.
    Raises RenderError."""
    if isinstance(route.dispatch, Notify):
        return build_notify(
            routes, key, event, delivery_id=delivery_id, context=context, log_url=log_url
        )
    return build_request(route, event, delivery_id=delivery_id, context=context)
