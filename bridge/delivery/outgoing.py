"""One delivery's request, whatever its destination: a GitHub dispatch (``dispatch:``) or a
chat / HTTP target (``notify:``). The dispatcher, the delivery log's preview and
``bridge simulate`` all render through :func:`render`, so each shows what is sent; the
dispatcher sends through :func:`send`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bridge.delivery.context import EMPTY_CONTEXT, DeliveryContext
from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github_answers import DispatchResult
from bridge.delivery.rendering import build_request
from bridge.errors import PermanentSendError
from bridge.events import Event
from bridge.notify.client import Notifier
from bridge.notify.render import build_notify
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Notify, Route, RoutesConfig

Outgoing = DispatchRequest | NotifyRequest


class Sender(Protocol):
    def dispatch(
        self, request: DispatchRequest, *, before_send: Callable[[], None] | None = None
    ) -> DispatchResult:
        """Send ``request`` once, calling ``before_send`` (when given) right before it goes
        out, inside any queue the sender keeps: it may raise to send nothing."""


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


def send(
    request: Outgoing,
    *,
    key: str,
    routes: RoutesConfig,
    sender: Sender | None,
    notifier: Notifier | None,
    before_send: Callable[[], None],
) -> DispatchResult:
    """Send delivery ``key``'s request once: to GitHub, or to its target. ``before_send`` runs
    right before it goes out (the dispatcher's lease fence). Raises SendError, and whatever
    ``before_send`` raises."""
    if isinstance(request, NotifyRequest):
        target = routes.target(key)
        if notifier is None or target is None:
            raise PermanentSendError(f"target of {key!r} is not in routes.yaml")
        before_send()
        return notifier.send(request, target)
    if sender is None:
        raise PermanentSendError("no GitHub credentials")
    return sender.dispatch(request, before_send=before_send)
