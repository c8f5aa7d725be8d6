"""App Store Connect webhook management and delivery log: typed operations over the API.

The contract is docs/protocols.md, "Delivery semantics" and "Webhook management API":

* https://developer.apple.com/documentation/appstoreconnectapi/webhooks
* https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries
* https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications

Every function takes an :class:`~bridge.appstoreconnect.client.AscClient` and raises its
:class:`~bridge.appstoreconnect.errors.AscError` subclasses; nothing here prints or logs, and a
webhook's ``secret`` is only ever sent (App Store Connect never returns it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.errors import AscRequestError
from bridge.appstoreconnect.jsonapi import attributes, resource_path
from bridge.providers import appstoreconnect
from bridge.routing.document import suggest

DeliveryState = Literal["SUCCEEDED", "FAILED", "PENDING"]
MAX_LIMIT = 200  # the API's largest page

# WebhookEventType (docs/protocols.md, "Event types"): the subscription names, SCREAMING_SNAKE,
# of every event type a webhook delivers (pings cannot be subscribed to).
_CAMEL = sorted(appstoreconnect.EVENT_TYPES - {appstoreconnect.PING})


def snake_name(camel: str) -> str:
    """``buildUploadStateUpdated`` → ``BUILD_UPLOAD_STATE_UPDATED``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def camel_name(snake: str) -> str:
    """``BUILD_UPLOAD_STATE_UPDATED`` → ``buildUploadStateUpdated``."""
    first, *rest = snake.lower().split("_")
    return first + "".join(part.capitalize() for part in rest)


EVENT_TYPES: tuple[str, ...] = tuple(snake_name(name) for name in _CAMEL)


class EventTypeError(ValueError):
    """A name that is not a WebhookEventType; the message lists the known ones."""


def event_types(values: Iterable[str]) -> tuple[str, ...]:
    """Subscription names from user input: each value one name or several comma-separated,
    in either form (``BUILD_UPLOAD_STATE_UPDATED`` or ``buildUploadStateUpdated``), or
    ``all``. Returns them in the API's form, without repeats. Raises EventTypeError."""
    found: dict[str, None] = {}
    for value in values:
        for word in (w.strip() for w in value.split(",")):
            if not word:
                continue
            if word.lower() in ("all", "*"):
                found.update(dict.fromkeys(EVENT_TYPES))
                continue
            found[_event_type(word)] = None
    if not found:
        raise EventTypeError(f"give at least one event type ({_known()}), or `all`")
    return tuple(found)


def _event_type(word: str) -> str:
    name = word.upper() if "_" in word or word.isupper() else snake_name(word)
    if name in EVENT_TYPES:
        return name
    if word == appstoreconnect.PING or name == snake_name(appstoreconnect.PING):
        raise EventTypeError("pings cannot be subscribed to: every webhook gets them on request")
    camel = "_" not in word and not word.isupper()
    hint = suggest(word, _CAMEL) if camel else suggest(name, EVENT_TYPES)
    known = _known(camel=camel)
    raise EventTypeError(f"unknown event type {word!r}{hint} (known: {known}, or `all`)")


def _known(*, camel: bool = False) -> str:
    return ", ".join(_CAMEL if camel else EVENT_TYPES)


# -- resources ------------------------------------------------------------------------------


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


def _data(document: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    data = document.get("data")
    if not isinstance(data, dict) or data.get("type") != type_ or not data.get("id"):
        raise AscRequestError(f"App Store Connect answered without a {type_} resource")
    return data


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


# -- operations -----------------------------------------------------------------------------


def list_webhooks(client: AscClient, app_id: str) -> list[Webhook]:
    """``GET /v1/apps/{id}/webhooks``, every page."""
    path = resource_path("apps", app_id, "webhooks")
    return [
        webhook_from(item)
        for page in client.pages(path, {"limit": MAX_LIMIT})
        for item in page.get("data") or []
        if isinstance(item, dict)
    ]


def get_webhook(client: AscClient, webhook_id: str) -> Webhook:
    return webhook_from(_data(client.get(resource_path("webhooks", webhook_id)), "webhooks"))


def create_webhook(
    client: AscClient,
    *,
    app_id: str,
    url: str,
    event_types: Sequence[str],
    secret: str,
    name: str = "bridge",
    enabled: bool = True,
) -> Webhook:
    """``POST /v1/webhooks``: every attribute is required by the API."""
    resource_path("apps", app_id)  # refuses an id that could not be one, before sending
    body = {
        "data": {
            "type": "webhooks",
            "attributes": {
                "name": name,
                "url": url,
                "eventTypes": list(event_types),
                "secret": secret,
                "enabled": enabled,
            },
            "relationships": {"app": {"data": {"type": "apps", "id": app_id}}},
        }
    }
    return webhook_from(_data(client.post("/v1/webhooks", body), "webhooks"))


def update_webhook(
    client: AscClient,
    webhook_id: str,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    name: str | None = None,
    secret: str | None = None,
    enabled: bool | None = None,
) -> Webhook:
    """``PATCH /v1/webhooks/{id}`` with only the attributes given."""
    changes = {
        "url": url,
        "eventTypes": list(event_types) if event_types is not None else None,
        "name": name,
        "secret": secret,
        "enabled": enabled,
    }
    attributes = {k: v for k, v in changes.items() if v is not None}
    body = {"data": {"type": "webhooks", "id": webhook_id, "attributes": attributes}}
    document = client.patch(resource_path("webhooks", webhook_id), body)
    return webhook_from(_data(document, "webhooks"))


def delete_webhook(client: AscClient, webhook_id: str) -> None:
    client.delete(resource_path("webhooks", webhook_id))


def ping(client: AscClient, webhook_id: str) -> str:
    """``POST /v1/webhookPings``: App Store Connect sends a test delivery. Returns the ping id."""
    resource_path("webhooks", webhook_id)
    body = {
        "data": {
            "type": "webhookPings",
            "relationships": {"webhook": {"data": {"type": "webhooks", "id": webhook_id}}},
        }
    }
    return str(_data(client.post("/v1/webhookPings", body), "webhookPings")["id"])


def redeliver(client: AscClient, delivery_id: str) -> Delivery:
    """``POST /v1/webhookDeliveries`` with the original as template. Returns the new delivery."""
    resource_path("webhookDeliveries", delivery_id)
    template = {"data": {"type": "webhookDeliveries", "id": delivery_id}}
    body = {"data": {"type": "webhookDeliveries", "relationships": {"template": template}}}
    return delivery_from(_data(client.post("/v1/webhookDeliveries", body), "webhookDeliveries"))


def deliveries(
    client: AscClient,
    webhook_id: str,
    *,
    states: Sequence[DeliveryState] = (),
    since: float | None = None,
    until: float | None = None,
    limit: int | None = None,
) -> Iterator[Delivery]:
    """``GET /v1/webhooks/{id}/deliveries?include=event``, newest first, page after page, up
    to ``limit`` deliveries (None: all). ``since``/``until``: epoch seconds (created date)."""
    params: dict[str, str | int] = {"include": "event", "limit": min(limit or MAX_LIMIT, MAX_LIMIT)}
    if states:
        params["filter[deliveryState]"] = ",".join(states)
    if since is not None:
        params["filter[createdDateGreaterThanOrEqualTo]"] = iso_utc(since)
    if until is not None:
        params["filter[createdDateLessThan]"] = iso_utc(until)
    count = 0
    for page in client.pages(resource_path("webhooks", webhook_id, "deliveries"), params):
        included = [i for i in page.get("included") or [] if isinstance(i, dict)]
        events = {
            e.id: e for e in (event_from(i) for i in included if i.get("type") == "webhookEvents")
        }
        for item in page.get("data") or []:
            if limit is not None and count >= limit:
                return
            if isinstance(item, dict):
                count += 1
                yield delivery_from(item, events)
        if limit is not None and count >= limit:
            return


def iso_utc(epoch: float) -> str:
    """``2025-12-01T08:00:00Z``: the form the API's date filters take."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
