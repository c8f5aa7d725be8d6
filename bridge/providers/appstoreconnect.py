"""App Store Connect API webhooks (API 4.0+).

Envelope: ``{"data": {"type", "id", "version", "attributes", "relationships": {"instance"}}}``
https://developer.apple.com/documentation/appstoreconnectapi/webhook-events
Signature: https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.errors import PayloadError
from bridge.events import Event, Instance
from bridge.providers.jsonbody import parse_object, text_field
from bridge.providers.signatures import APPLE_SIGNATURE_HEADER, apple_signature, verify_apple

NAME = "appstoreconnect"
CREDENTIAL_KEYS: tuple[str, str] = ("secret", "secrets")

PING = "webhookPingCreated"

# The state enums of App Store Connect API 4.4.1, each after its OpenAPI schema's name.
# AppVersionState
_APP_VERSION = frozenset(
    {
        "ACCEPTED", "DEVELOPER_REJECTED", "IN_REVIEW", "INVALID_BINARY", "METADATA_REJECTED",
        "PENDING_APPLE_RELEASE", "PENDING_DEVELOPER_RELEASE", "PREPARE_FOR_SUBMISSION",
        "PROCESSING_FOR_DISTRIBUTION", "READY_FOR_DISTRIBUTION", "READY_FOR_REVIEW", "REJECTED",
        "REPLACED_WITH_NEW_VERSION", "WAITING_FOR_EXPORT_COMPLIANCE", "WAITING_FOR_REVIEW",
    }
)  # fmt: skip
# BuildUploadState
_BUILD_UPLOAD = frozenset({"AWAITING_UPLOAD", "PROCESSING", "FAILED", "COMPLETE"})
# ExternalBetaState
_EXTERNAL_BETA = frozenset(
    {
        "PROCESSING", "PROCESSING_EXCEPTION", "MISSING_EXPORT_COMPLIANCE",
        "READY_FOR_BETA_TESTING", "IN_BETA_TESTING", "EXPIRED", "READY_FOR_BETA_SUBMISSION",
        "IN_EXPORT_COMPLIANCE_REVIEW", "WAITING_FOR_BETA_REVIEW", "IN_BETA_REVIEW",
        "BETA_REJECTED", "BETA_APPROVED", "NOT_APPLICABLE",
    }
)  # fmt: skip
# BackgroundAssetVersionState
_ASSET_VERSION = frozenset({"AWAITING_UPLOAD", "PROCESSING", "FAILED", "COMPLETE"})
# BackgroundAssetVersionExternalBetaReleaseState
_ASSET_EXTERNAL_BETA_RELEASE = frozenset(
    {
        "READY_FOR_BETA_SUBMISSION", "WAITING_FOR_REVIEW", "IN_REVIEW", "REJECTED",
        "PROCESSING_FOR_TESTING", "READY_FOR_TESTING", "SUPERSEDED",
    }
)  # fmt: skip
# BackgroundAssetVersionAppStoreReleaseState
_ASSET_APP_STORE_RELEASE = frozenset(
    {
        "PREPARE_FOR_SUBMISSION", "READY_FOR_REVIEW", "WAITING_FOR_REVIEW", "IN_REVIEW",
        "ACCEPTED", "REJECTED", "PROCESSING_FOR_DISTRIBUTION", "READY_FOR_DISTRIBUTION",
        "SUPERSEDED",
    }
)  # fmt: skip

# WebhookEventType (App Store Connect API 4.4.1) as delivered in data.type (camelCase), plus
# the ping, each with the states it carries:
# https://developer.apple.com/documentation/appstoreconnectapi/webhook-events
STATES_BY_EVENT_TYPE: Mapping[str, frozenset[str]] = {
    PING: frozenset(),
    "appStoreVersionAppVersionStateUpdated": _APP_VERSION,
    "buildUploadStateUpdated": _BUILD_UPLOAD,
    "buildBetaDetailExternalBuildStateUpdated": _EXTERNAL_BETA,
    "betaFeedbackScreenshotSubmissionCreated": frozenset(),
    "betaFeedbackCrashSubmissionCreated": frozenset(),
    "backgroundAssetVersionStateUpdated": _ASSET_VERSION,
    "backgroundAssetVersionInternalBetaReleaseCreated": frozenset(),
    "backgroundAssetVersionExternalBetaReleaseStateUpdated": _ASSET_EXTERNAL_BETA_RELEASE,
    "backgroundAssetVersionAppStoreReleaseStateUpdated": _ASSET_APP_STORE_RELEASE,
    "alternativeDistributionPackageVersionCreated": frozenset(),
    "alternativeDistributionPackageAvailableUpdated": frozenset(),
    "alternativeDistributionTerritoryAvailabilityUpdated": frozenset(),
}
EVENT_TYPES: frozenset[str] = frozenset(STATES_BY_EVENT_TYPE)
STATES: frozenset[str] = frozenset().union(*STATES_BY_EVENT_TYPE.values())
# Apple's documented buildUploadStateUpdated carries only newState (docs/protocols.md, "Event
# types"): an old state may be missing, and a route's `from:` then never matches.
OLD_STATE_OPTIONAL: frozenset[str] = frozenset({"buildUploadStateUpdated"})

# A build upload that finished processing.
EXAMPLE: Mapping[str, Any] = {
    "data": {
        "type": "buildUploadStateUpdated",
        "id": "00000000-0000-4000-8000-000000000001",
        "version": 1,
        "attributes": {"oldState": "PROCESSING", "newState": "COMPLETE"},
        "relationships": {
            "instance": {"data": {"type": "buildUploads", "id": "example-build-upload"}}
        },
    }
}

# Apple names the state attributes differently per event type. The documented pair is tried
# first, then the others, so a payload that drifts (e.g. a buildUploadStateUpdated carrying
# newValue, or only newState) still yields its states.
_STATE_KEYS = (
    ("oldState", "newState"),
    ("oldValue", "newValue"),
    ("oldExternalBuildState", "newExternalBuildState"),
)
_DOCUMENTED_KEYS = {
    "appStoreVersionAppVersionStateUpdated": ("oldValue", "newValue"),
    "buildBetaDetailExternalBuildStateUpdated": ("oldExternalBuildState", "newExternalBuildState"),
}


def authenticate(
    body: bytes,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    secrets: Sequence[str],
) -> None:
    """Raises SignatureError unless ``X-Apple-Signature`` is the HMAC-SHA256 of ``body``
    under one of ``secrets`` (several while rotating)."""
    verify_apple(body, header=headers.get(APPLE_SIGNATURE_HEADER.lower()), secrets=secrets)


def credentials(body: bytes, secret: str) -> tuple[dict[str, str], dict[str, str]]:
    """The ``X-Apple-Signature`` header App Store Connect would send with ``body``."""
    return {APPLE_SIGNATURE_HEADER: apple_signature(body, secret)}, {}


def parse(body: bytes, *, source: str, headers: Mapping[str, str] | None = None) -> Event:
    """Normalize an App Store Connect webhook body. Unknown event types are kept as they are.

    Raises PayloadError when the body is not a JSON object with ``data.type`` and ``data.id``.
    """
    payload = parse_object(body)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise PayloadError("App Store Connect payload must have a 'data' object")
    event_type = text_field(data, "type")
    event_id = text_field(data, "id")
    if event_type is None or event_id is None:
        raise PayloadError("App Store Connect payload must have string 'data.type' and 'data.id'")
    attributes = data.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    old_state, new_state = _states(event_type, attributes)
    return Event(
        source=source,
        provider=NAME,
        type=event_type,
        id=event_id,
        old_state=old_state,
        new_state=new_state,
        instance=_instance(data),
        timestamp=text_field(attributes, "timestamp"),
        payload=payload,
    )


def _states(event_type: str, attributes: Mapping[str, Any]) -> tuple[str | None, str | None]:
    documented = _DOCUMENTED_KEYS.get(event_type, _STATE_KEYS[0])
    pairs = (documented, *(p for p in _STATE_KEYS if p != documented))
    old = next((v for o, _ in pairs if (v := text_field(attributes, o))), None)
    new = next((v for _, n in pairs if (v := text_field(attributes, n))), None)
    return old, new


def _instance(data: Mapping[str, Any]) -> Instance | None:
    """``relationships.instance`` comes as ``{"data": {"type", "id"}}`` for most events and as
    ``{"type", "id", "links"}`` (no ``data`` wrapper) for background-asset events."""
    relationships = data.get("relationships")
    instance = relationships.get("instance") if isinstance(relationships, dict) else None
    if not isinstance(instance, dict):
        return None
    ref = instance.get("data", instance)
    kind, ident = text_field(ref, "type"), text_field(ref, "id")
    if kind is None or ident is None:
        return None
    return Instance(type=kind, id=ident)
