"""The delivery log: deliveries seeded by the test, listed with filters and pagination (and
their events with ``include=event``), redelivered, and pings."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from werkzeug import Response

from tests.fakes.appstoreconnect.errors import (
    Problem,
    entity_error,
    parameter_error,
    related_id,
    request_data,
    respond,
)
from tests.fakes.appstoreconnect.model import (
    DELIVERY_STATES,
    EVENT_TYPES,
    AscState,
    WebhookEvent,
    aware,
    utc_now,
)
from tests.fakes.appstoreconnect.paging import check_params, date_param, paginate
from tests.fakes.http import RecordedRequest


class DeliveriesPart(AscState):
    """``/v1/webhooks/{id}/deliveries``, ``/v1/webhookDeliveries``, ``/v1/webhookPings``."""

    def add_delivery(
        self,
        webhook_id: str,
        payload: bytes | str | Mapping[str, Any],
        *,
        state: str = "FAILED",
        created: datetime | None = None,
        ping: bool = False,
        event_type: str | None = None,
        error_message: str | None = None,
        http_status: int | None = None,
        response_body: str | None = None,
    ) -> str:
        """Seed one delivery (and its event) of ``payload`` to webhook ``webhook_id``; returns
        the delivery id.

        The event id is the payload's ``data.id`` when it has one; ``eventType`` comes from
        the payload's ``data.type`` (camelCase → SCREAMING_SNAKE) unless ``event_type`` is
        given; a ``webhookPingCreated`` payload is a ping. FAILED defaults to HTTP 500,
        SUCCEEDED to 200, PENDING has no response yet. ``created`` defaults to now."""
        if state not in DELIVERY_STATES:
            raise ValueError(f"state must be one of {DELIVERY_STATES}")
        if isinstance(payload, bytes):
            text = payload.decode()
        elif isinstance(payload, str):
            text = payload
        else:
            text = json.dumps(payload)
        try:
            data = json.loads(text).get("data") or {}
        except (ValueError, AttributeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        data_type = str(data.get("type") or "")
        ping = ping or data_type == "webhookPingCreated"
        if event_type is None and not ping:
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", data_type).upper()
            event_type = snake if snake in EVENT_TYPES else None
        when = aware(created) if created is not None else utc_now()
        event = WebhookEvent(
            id=str(data.get("id") or uuid.uuid4()),
            event_type=None if ping else event_type,
            payload=text,
            ping=ping,
            created=when,
        )
        if state == "FAILED":
            http_status = 500 if http_status is None else http_status
            error_message = error_message or f"The endpoint answered HTTP {http_status}."
        elif state == "SUCCEEDED":
            http_status = 200 if http_status is None else http_status
        with self._lock:
            hook = self._webhooks[webhook_id]
            delivery = self._new_delivery(hook, event, state, when, redelivery=False)
            delivery.error_message = error_message
            delivery.http_status = http_status
            if response_body is not None:
                delivery.response_body = response_body
        return delivery.id

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        """A webhook's delivery resources as served, newest first."""
        with self._lock:
            return [self._delivery_json(d) for d in self._deliveries_of(webhook_id)]

    def _list_deliveries(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        linkage = "/relationships/" in record.path
        filters = {
            "filter[deliveryState]",
            "filter[createdDateGreaterThanOrEqualTo]",
            "filter[createdDateLessThan]",
            "limit",
            "cursor",
        }
        extra = {"include", "fields[webhookDeliveries]", "fields[webhookEvents]"}
        check_params(record, filters if linkage else filters | extra)
        args = record.args
        states: set[str] | None = None
        if "filter[deliveryState]" in args:
            states = set(args["filter[deliveryState]"].split(","))
            if bad := sorted(states - set(DELIVERY_STATES)):
                raise Problem(
                    parameter_error(
                        "filter[deliveryState]",
                        f"{bad[0]!r} is not a valid value; use {', '.join(DELIVERY_STATES)}",
                    )
                )
        since = date_param(args, "filter[createdDateGreaterThanOrEqualTo]")
        until = date_param(args, "filter[createdDateLessThan]")
        include_event = False
        if "include" in args:
            for name in args["include"].split(","):
                if name != "event":
                    raise Problem(
                        parameter_error("include", f"{name!r} is not a valid relationship")
                    )
            include_event = True
        with self._lock:
            self._webhook_or_404(found["id"])
            selected = [
                d
                for d in self._deliveries_of(found["id"])
                if (states is None or d.state in states)
                and (since is None or d.created >= since)
                and (until is None or d.created < until)
            ]
        page, links, meta = paginate(self.url, record, selected)
        if linkage:
            data = [{"type": "webhookDeliveries", "id": d.id} for d in page]
            return respond(200, {"data": data, "links": links, "meta": meta})
        document: dict[str, Any] = {"data": [self._delivery_json(d) for d in page]}
        if include_event and page:
            events = {d.event.id: d.event for d in page}
            document["included"] = [self._event_json(e) for e in events.values()]
        document |= {"links": links, "meta": meta}
        return respond(200, document)

    def _redeliver(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = request_data(record, "webhookDeliveries")
        template = related_id(data, "template", "webhookDeliveries")
        with self._lock:
            original = self._deliveries.get(template)
            if original is None:
                raise Problem(
                    entity_error(
                        422,
                        "RELATIONSHIP.INVALID",
                        "/data/relationships/template",
                        f"no webhookDeliveries with id {template!r}",
                    )
                )
            hook = self._webhooks[original.webhook_id]
            delivery = self._new_delivery(
                hook, original.event, "PENDING", utc_now(), redelivery=True
            )
            self._redelivered.append(template)
            resource = self._delivery_json(delivery)
        return respond(201, {"data": resource, "links": {"self": self.url + record.path}})

    def _ping(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = request_data(record, "webhookPings")
        webhook_id = related_id(data, "webhook", "webhooks")
        now = utc_now()
        event_id = str(uuid.uuid4())
        payload = {
            "data": {
                "type": "webhookPingCreated",
                "id": event_id,
                "version": 1,
                "attributes": {"timestamp": now.isoformat().replace("+00:00", "Z")},
            }
        }
        event = WebhookEvent(event_id, None, json.dumps(payload), True, now)
        with self._lock:
            hook = self._webhooks.get(webhook_id)
            if hook is None:
                raise Problem(
                    entity_error(
                        422,
                        "RELATIONSHIP.INVALID",
                        "/data/relationships/webhook",
                        f"no webhooks with id {webhook_id!r}",
                    )
                )
            delivery = self._new_delivery(hook, event, "SUCCEEDED", now, redelivery=False)
            delivery.http_status = 200
            self._pings.append(webhook_id)
        ping = {
            "type": "webhookPings",
            "id": str(uuid.uuid4()),
            "links": {"self": f"{self.url}/v1/webhookPings"},
        }
        return respond(201, {"data": ping, "links": {"self": self.url + record.path}})
