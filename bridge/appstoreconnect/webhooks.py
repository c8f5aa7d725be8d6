"""App Store Connect webhook management and delivery log: typed operations over the API.

The contract is docs/protocols.md, "Delivery semantics" and "Webhook management API":

* https://developer.apple.com/documentation/appstoreconnectapi/webhooks
* https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries
* https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications

Every function takes an :class:`~bridge.appstoreconnect.client.AscClient` and raises its
:class:`~bridge.appstoreconnect.errors.AscError` subclasses; nothing here prints or logs, and a
webhook's ``secret`` is only ever sent (App Store Connect never returns it). The records they
return are in :mod:`bridge.appstoreconnect.webhook_resources`; the event type names a webhook
subscribes to, in :mod:`bridge.appstoreconnect.event_types`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.errors import AscRequestError
from bridge.appstoreconnect.jsonapi import resource_path
from bridge.appstoreconnect.webhook_resources import (
    Delivery,
    Webhook,
    delivery_from,
    event_from,
    webhook_from,
)

DeliveryState = Literal["SUCCEEDED", "FAILED", "PENDING"]
MAX_LIMIT = 200  # the API's largest page


def _data(document: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    data = document.get("data")
    if not isinstance(data, dict) or data.get("type") != type_ or not data.get("id"):
        raise AscRequestError(f"App Store Connect answered without a {type_} resource")
    return data


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
