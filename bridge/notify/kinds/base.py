"""What every kind module shares: the :class:`Kind` interface, its input, and the fitting of
a message into a service's size limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bridge.notify.message import Message, clip
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Target


@dataclass(frozen=True, slots=True)
class Compose:
    """What a kind builds its request from."""

    target: Target
    message: Message
    secrets: Mapping[str, str]  # value → shown as, for NotifyRequest.secrets
    variables: Mapping[str, Any] = field(default_factory=dict)  # templates (webhook)
    standard: Mapping[str, Any] = field(default_factory=dict)  # the standard payload
    delivery_id: str = ""


class Kind(Protocol):
    """One module per kind provides these (see :mod:`bridge.notify.kinds`)."""

    RATE_LIMIT: int  # messages per minute the service documents per webhook / bot / chat

    def build(self, compose: Compose) -> NotifyRequest:
        """The request, unsigned. Raises RenderError (a template of the target fails)."""
        ...

    def sign(self, request: NotifyRequest, secret: str, now: float) -> NotifyRequest:
        """The request as sent at ``now`` (signatures carry a time, so they are made per
        attempt); unchanged for kinds that sign nothing."""
        ...

    def classify(self, target: str, status: int, headers: Mapping[str, str], text: str) -> str:
        """The answer's summary when the service took the message. Raises
        TransientSendError or PermanentSendError."""
        ...


def unsigned(request: NotifyRequest, secret: str, now: float) -> NotifyRequest:
    return request


def fit(message: Message, limit: int, build: Callable[[Message], NotifyRequest]) -> NotifyRequest:
    """``build(message)``, with the message's text and facts cut until the encoded body is at
    most ``limit`` bytes: a long message is truncated, never refused."""
    request = build(message)
    for _ in range(12):
        size = len(request.encoded())
        if size <= limit:
            return request
        keep = max(len(message.text) * limit // size - 200, 0)
        message = replace(
            message,
            text=clip(message.text, keep),
            facts=tuple((k, clip(v, max(len(v) // 2, 40))) for k, v in message.facts),
            title=clip(message.title, max(len(message.title) * limit // size, 40)),
        )
        request = build(message)
    return request
