"""The webhook resources App Store Connect answers with, as records: :class:`Webhook`
(``webhooks``), :class:`WebhookEvent` (``webhookEvents``) and :class:`Delivery`
(``webhookDeliveries``), each read from its JSON:API resource object, with ``as_dict`` for
``--json`` output (stable keys).

Shapes: docs/protocols.md, "Delivery semantics" and "Webhook management API";
https://developer.apple.com/documentation/appstoreconnectapi/webhooks and
https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries. Reading never
raises: a missing or mistyped attribute becomes None, ``""``, False or ``()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.appstoreconnect.jsonapi import attributes


@dataclass(frozen=True, slots=True)
class Webhook:
    """A ``webhooks`` resource (never with its secret)."""

    id: str
    app_id: str | None
    name: str
    url: str
    enabled: bool
    event_types: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app_id": self.app_id,
            "name": self.name,
            "url": self.url,
            "enabled": self.enabled,
            "event_types": list(self.event_types),
        }


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A ``webhookEvents`` resource: what was (or was to be) delivered. ``payload`` is the
    original body as text; None when the answer did not include the event."""

    id: str
    event_type: str | None
    ping: bool
    payload: str | None
    created: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_type": self.event_type,
            "ping": self.ping,
            "created": self.created,
            "payload": self.payload,
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """A ``webhookDeliveries`` resource. Dates are Apple's ISO 8601 text."""

    id: str
    state: str  # SUCCEEDED | FAILED | PENDING
    created: str | None
    sent: str | None
    redelivery: bool
    url: str | None
    http_status: int | None
    error: str | None
    event_id: str | None
    event: WebhookEvent | None  # with include=event

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "created": self.created,
            "sent": self.sent,
            "redelivery": self.redelivery,
            "url": self.url,
            "http_status": self.http_status,
            "error": self.error,
            "event_id": self.event_id,
            "event": self.event.as_dict() if self.event else None,
        }


def _related_id(resource: Mapping[str, Any], name: str) -> str | None:
    relationships = resource.get("relationships")
    related = relationships.get(name) if isinstance(relationships, dict) else None
    linkage = related.get("data") if isinstance(related, dict) else None
    ident = linkage.get("id") if isinstance(linkage, dict) else None
    return str(ident) if ident is not None else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def webhook_from(resource: Mapping[str, Any]) -> Webhook:
    a = attributes(resource)
    types = a.get("eventTypes")
    return Webhook(
        id=str(resource.get("id")),
        app_id=_related_id(resource, "app"),
        name=_text(a.get("name")) or "",
        url=_text(a.get("url")) or "",
        enabled=a.get("enabled") is True,
        event_types=tuple(str(t) for t in types) if isinstance(types, list) else (),
    )


def event_from(resource: Mapping[str, Any]) -> WebhookEvent:
    a = attributes(resource)
    return WebhookEvent(
        id=str(resource.get("id")),
        event_type=_text(a.get("eventType")),
        ping=a.get("ping") is True,
        payload=_text(a.get("payload")),
        created=_text(a.get("createdDate")),
    )


def delivery_from(
    resource: Mapping[str, Any], events: Mapping[str, WebhookEvent] | None = None
) -> Delivery:
    a = attributes(resource)
    request, response = a.get("request"), a.get("response")
    status = response.get("httpStatusCode") if isinstance(response, dict) else None
    event_id = _related_id(resource, "event")
    return Delivery(
        id=str(resource.get("id")),
        state=_text(a.get("deliveryState")) or "",
        created=_text(a.get("createdDate")),
        sent=_text(a.get("sentDate")),
        redelivery=a.get("redelivery") is True,
        url=_text(request.get("url")) if isinstance(request, dict) else None,
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        error=_text(a.get("errorMessage")),
        event_id=event_id,
        event=(events or {}).get(event_id) if event_id else None,
    )
