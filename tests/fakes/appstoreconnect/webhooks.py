"""Webhooks: create, read, update, delete, and list an app's (paginated), with Apple's
checks on every attribute."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from werkzeug import Response

from tests.fakes.appstoreconnect.errors import (
    Problem,
    entity_error,
    error,
    request_data,
    respond,
)
from tests.fakes.appstoreconnect.model import EVENT_TYPES, AscState, Webhook
from tests.fakes.appstoreconnect.paging import check_params, paginate
from tests.fakes.http import RecordedRequest

MAX_WEBHOOKS_PER_APP = 10
WEBHOOK_ATTRIBUTES = ("name", "secret", "eventTypes", "url", "enabled")


class WebhooksPart(AscState):
    """``/v1/webhooks`` and ``/v1/apps/{id}/webhooks``."""

    def add_webhook(
        self,
        app_id: str,
        *,
        url: str = "https://bridge.example/hooks/ios",
        secret: str = "test-asc-secret-0123456789",
        event_types: list[str] | None = None,
        name: str = "bridge",
        enabled: bool = True,
    ) -> str:
        """Create a webhook without HTTP (no checks); returns its id."""
        hook = Webhook(
            id=str(uuid.uuid4()),
            app_id=app_id,
            name=name,
            secret=secret,
            event_types=list(event_types or sorted(EVENT_TYPES)),
            url=url,
            enabled=enabled,
        )
        with self._lock:
            self._webhooks[hook.id] = hook
        return hook.id

    def webhook_secret(self, webhook_id: str) -> str:
        with self._lock:
            return self._webhooks[webhook_id].secret

    def webhooks(self, app_id: str | None = None) -> list[dict[str, Any]]:
        """Webhook resources (as served, without secrets), of one app or all."""
        with self._lock:
            return [
                self._webhook_json(h)
                for h in self._webhooks.values()
                if app_id is None or h.app_id == app_id
            ]

    def _create_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = request_data(record, "webhooks")
        attributes = data.get("attributes")
        if not isinstance(attributes, dict):
            raise Problem(entity_error(422, "REQUIRED", "/data/attributes", "is required"))
        for name in WEBHOOK_ATTRIBUTES:
            if attributes.get(name) is None:
                raise Problem(
                    entity_error(
                        422, "ATTRIBUTE.REQUIRED", f"/data/attributes/{name}", "is required"
                    )
                )
        _check_webhook_attributes(attributes)
        app = (data.get("relationships") or {}).get("app")
        app_data = app.get("data") if isinstance(app, dict) else None
        if not isinstance(app_data, dict) or not app_data.get("id"):
            raise Problem(
                entity_error(422, "RELATIONSHIP.REQUIRED", "/data/relationships/app", "is required")
            )
        if app_data.get("type") != "apps":
            raise Problem(
                entity_error(
                    409, "RELATIONSHIP.INVALID", "/data/relationships/app", "must be of type apps"
                )
            )
        app_id = str(app_data["id"])
        with self._lock:
            if sum(h.app_id == app_id for h in self._webhooks.values()) >= MAX_WEBHOOKS_PER_APP:
                return error(
                    409,
                    detail=f"An app can have at most {MAX_WEBHOOKS_PER_APP} webhooks.",
                    source={"pointer": "/data/relationships/app"},
                )
            hook = Webhook(
                id=str(uuid.uuid4()),
                app_id=app_id,
                name=attributes["name"],
                secret=attributes["secret"],
                event_types=list(attributes["eventTypes"]),
                url=attributes["url"],
                enabled=attributes["enabled"],
            )
            self._webhooks[hook.id] = hook
            resource = self._webhook_json(hook)
        return respond(201, {"data": resource, "links": {"self": resource["links"]["self"]}})

    def _get_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        check_params(record, {"fields[webhooks]", "fields[apps]", "include"})
        with self._lock:
            resource = self._webhook_json(self._webhook_or_404(found["id"]))
        return respond(200, {"data": resource, "links": {"self": self.url + record.path}})

    def _update_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        data = request_data(record, "webhooks")
        if data.get("id") != found["id"]:
            return error(
                409,
                code="ENTITY_ERROR.ID.INVALID",
                detail=f"The id {data.get('id')!r} in the body does not match the path.",
                source={"pointer": "/data/id"},
            )
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise Problem(entity_error(422, "INVALID", "/data/attributes", "must be an object"))
        changes = {k: v for k, v in attributes.items() if v is not None}
        _check_webhook_attributes(changes)
        with self._lock:
            hook = self._webhook_or_404(found["id"])
            app = ((data.get("relationships") or {}).get("app") or {}).get("data")
            if isinstance(app, dict) and app.get("id") != hook.app_id:
                return error(
                    409,
                    code="ENTITY_ERROR.RELATIONSHIP.INVALID",
                    detail="The app of a webhook cannot be changed.",
                    source={"pointer": "/data/relationships/app"},
                )
            hook.name = changes.get("name", hook.name)
            hook.secret = changes.get("secret", hook.secret)
            hook.event_types = list(changes.get("eventTypes", hook.event_types))
            hook.url = changes.get("url", hook.url)
            hook.enabled = changes.get("enabled", hook.enabled)
            resource = self._webhook_json(hook)
        return respond(200, {"data": resource, "links": {"self": self.url + record.path}})

    def _delete_webhook(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        with self._lock:
            self._webhook_or_404(found["id"])
            del self._webhooks[found["id"]]
            for delivery_id in [
                d.id for d in self._deliveries.values() if d.webhook_id == found["id"]
            ]:
                del self._deliveries[delivery_id]
        return respond(204)

    def _list_webhooks(self, record: RecordedRequest, found: re.Match[str]) -> Response:
        linkage = "/relationships/" in record.path
        allowed = {"limit", "cursor"} if linkage else {"limit", "cursor", "fields[webhooks]"}
        check_params(record, allowed)
        with self._lock:
            hooks = [h for h in self._webhooks.values() if h.app_id == found["id"]]
            items = [
                {"type": "webhooks", "id": h.id} if linkage else self._webhook_json(h)
                for h in hooks
            ]
        page, links, meta = paginate(self.url, record, items)
        return respond(200, {"data": page, "links": links, "meta": meta})


def _check_webhook_attributes(attributes: Mapping[str, Any]) -> None:
    """Raise a 422 for an unknown or invalid webhook attribute."""
    for name, value in attributes.items():
        pointer = f"/data/attributes/{name}"
        if name not in WEBHOOK_ATTRIBUTES:
            raise Problem(entity_error(422, "ATTRIBUTE.UNKNOWN", pointer, "is not an attribute"))
        if name in ("name", "secret") and (not isinstance(value, str) or not value):
            raise Problem(
                entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a non-empty string")
            )
        if name == "enabled" and not isinstance(value, bool):
            raise Problem(entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a boolean"))
        if name == "url":
            parts = urlsplit(value) if isinstance(value, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise Problem(
                    entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be an http(s) URL")
                )
        if name == "eventTypes":
            if not isinstance(value, list) or not value:
                raise Problem(
                    entity_error(422, "ATTRIBUTE.INVALID", pointer, "must be a non-empty list")
                )
            for i, item in enumerate(value):
                if item not in EVENT_TYPES:
                    raise Problem(
                        entity_error(
                            422,
                            "ATTRIBUTE.INVALID",
                            f"{pointer}/{i}",
                            f"{item!r} is not a WebhookEventType",
                        )
                    )
