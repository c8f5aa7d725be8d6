"""The fake's data (apps' webhooks, their deliveries and events, resources) and how it is
rendered as JSON:API resources. :class:`AscState` holds it; the handlers of resources.py,
webhooks.py and deliveries.py work on it, always holding ``self._lock``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from werkzeug import Response

from tests.fakes.appstoreconnect.errors import Problem, not_found
from tests.fakes.http import FakeHTTPServer, RecordedRequest

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples" / "appstoreconnect"
SAMPLE_BUILD_ID = "b0d1e2f3-a4b5-4c6d-8e7f-8091a2b3c4d5"  # the build of the appStoreVersions sample

# WebhookEventType, docs/protocols.md, "Event types" (pings have none).
EVENT_TYPES = frozenset(
    {
        "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED",
        "BUILD_UPLOAD_STATE_UPDATED",
        "BUILD_BETA_DETAIL_EXTERNAL_BUILD_STATE_UPDATED",
        "BETA_FEEDBACK_SCREENSHOT_SUBMISSION_CREATED",
        "BETA_FEEDBACK_CRASH_SUBMISSION_CREATED",
        "BACKGROUND_ASSET_VERSION_STATE_UPDATED",
        "BACKGROUND_ASSET_VERSION_INTERNAL_BETA_RELEASE_CREATED",
        "BACKGROUND_ASSET_VERSION_EXTERNAL_BETA_RELEASE_STATE_UPDATED",
        "BACKGROUND_ASSET_VERSION_APP_STORE_RELEASE_STATE_UPDATED",
        "ALTERNATIVE_DISTRIBUTION_PACKAGE_VERSION_CREATED",
        "ALTERNATIVE_DISTRIBUTION_PACKAGE_AVAILABLE_UPDATED",
        "ALTERNATIVE_DISTRIBUTION_TERRITORY_AVAILABILITY_UPDATED",
    }
)
DELIVERY_STATES = ("SUCCEEDED", "FAILED", "PENDING")
_PACIFIC = timezone(timedelta(hours=-8))  # dates are shown like the API samples

Handler = Callable[[RecordedRequest, re.Match[str]], Response]


@dataclass
class Webhook:
    id: str
    app_id: str
    name: str
    secret: str
    event_types: list[str]
    url: str
    enabled: bool


@dataclass
class WebhookEvent:
    id: str
    event_type: str | None
    payload: str
    ping: bool
    created: datetime


@dataclass
class Delivery:
    id: str
    webhook_id: str
    event: WebhookEvent
    state: str
    created: datetime
    sent: datetime | None
    error_message: str | None
    http_status: int | None
    response_body: str | None
    redelivery: bool
    url: str
    seq: int


class AscState(FakeHTTPServer):
    """Apps' webhooks, their deliveries and events, and the resources served; the
    recordings the handlers add to (``redelivered``, ``pings``)."""

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port=port)
        self._delivery_seq = 0
        self._resources: dict[tuple[str, str], dict[str, Any]] = {}
        self._related: dict[tuple[str, str, str], dict[str, Any]] = {}
        # path → [(query parameters that must be given, document)], see add_listing
        self._listings: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = {}
        self._webhooks: dict[str, Webhook] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._redelivered: list[str] = []
        self._pings: list[str] = []

    @property
    def url(self) -> str:
        """Base URL to use as ASC_API_URL (no trailing slash)."""
        return self.base_url

    def _webhook_json(self, hook: Webhook) -> dict[str, Any]:
        return {
            "type": "webhooks",
            "id": hook.id,
            "attributes": {
                "enabled": hook.enabled,
                "eventTypes": list(hook.event_types),
                "name": hook.name,
                "url": hook.url,
            },
            "relationships": {"app": {"data": {"type": "apps", "id": hook.app_id}}},
            "links": {"self": f"{self.url}/v1/webhooks/{hook.id}"},
        }

    def _webhook_or_404(self, webhook_id: str) -> Webhook:
        hook = self._webhooks.get(webhook_id)
        if hook is None:
            raise Problem(not_found("webhooks", webhook_id))
        return hook

    def _new_delivery(
        self, hook: Webhook, event: WebhookEvent, state: str, created: datetime, *, redelivery: bool
    ) -> Delivery:
        """Store a delivery (caller holds the lock)."""
        self._delivery_seq += 1
        delivery = Delivery(
            id=str(uuid.uuid4()),
            webhook_id=hook.id,
            event=event,
            state=state,
            created=created,
            sent=None if state == "PENDING" else created + timedelta(seconds=1),
            error_message=None,
            http_status=None,
            response_body=None if state == "PENDING" else "",
            redelivery=redelivery,
            url=hook.url,
            seq=self._delivery_seq,
        )
        self._deliveries[delivery.id] = delivery
        return delivery

    def _deliveries_of(self, webhook_id: str) -> list[Delivery]:
        found = [d for d in self._deliveries.values() if d.webhook_id == webhook_id]
        return sorted(found, key=lambda d: (d.created, d.seq), reverse=True)

    def _delivery_json(self, delivery: Delivery) -> dict[str, Any]:
        response = (
            None
            if delivery.http_status is None and delivery.response_body is None
            else {"httpStatusCode": delivery.http_status, "body": delivery.response_body}
        )
        return {
            "type": "webhookDeliveries",
            "id": delivery.id,
            "attributes": {
                "createdDate": iso(delivery.created),
                "deliveryState": delivery.state,
                "errorMessage": delivery.error_message,
                "redelivery": delivery.redelivery,
                "sentDate": iso(delivery.sent) if delivery.sent else None,
                "request": {"url": delivery.url},
                "response": response,
            },
            "relationships": {
                "event": {"data": {"type": "webhookEvents", "id": delivery.event.id}}
            },
        }

    def _event_json(self, event: WebhookEvent) -> dict[str, Any]:
        return {
            "type": "webhookEvents",
            "id": event.id,
            "attributes": {
                "eventType": event.event_type,
                "payload": event.payload,
                "ping": event.ping,
                "createdDate": iso(event.created),
            },
        }


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def iso(value: datetime) -> str:
    """Like the API samples: ``2025-12-15T19:12:55-08:00``."""
    return value.astimezone(_PACIFIC).isoformat(timespec="seconds")
