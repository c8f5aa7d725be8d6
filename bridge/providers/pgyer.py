"""Pgyer (蒲公英) webhooks. https://www.pgyer.com/doc/view/webhook

Pgyer signs nothing, so the source's secret travels as ``?token=`` in the webhook URL. Its
payloads are flat objects keyed by ``type`` (``updateVersion`` is documented; others vary and
"may differ slightly" from the docs), so parsing is lenient: any JSON object with a ``type`` or
an ``action`` label is an event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bridge.errors import PayloadError
from bridge.events import Event
from bridge.providers.jsonbody import parse_object, text_field
from bridge.providers.signatures import verify_token

NAME = "pgyer"
CREDENTIAL_KEYS: tuple[str, str] = ("token", "tokens")
TOKEN_PARAM = "token"  # noqa: S105  (the query parameter's name, not a secret)

EVENT_TYPES: frozenset[str] = frozenset({"updateVersion", "feedback", "crashlog"})
# Pgyer reports no state transitions: old_state and new_state stay None.
STATES_BY_EVENT_TYPE: Mapping[str, frozenset[str]] = dict.fromkeys(EVENT_TYPES, frozenset())
STATES: frozenset[str] = frozenset()
OLD_STATE_OPTIONAL: frozenset[str] = frozenset()  # no Pgyer event carries a state

# A new version on Pgyer, with the fields routes usually read.
EXAMPLE: Mapping[str, Any] = {
    "type": "updateVersion",
    "title": "Example",
    "os_version": "2.4",
    "build_version": "139",
    "device_type": "Android",
    "timestamp": 1444361118,
}

# Pgyer's Chinese ``action`` labels, for payloads without ``type``.
_ACTION_TYPES = {"应用更新": "updateVersion", "应用反馈": "feedback", "Crash log": "crashlog"}


def authenticate(
    body: bytes,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    secrets: Sequence[str],
) -> None:
    """Raises SignatureError unless the ``token`` query parameter is one of ``secrets``."""
    verify_token(query.get(TOKEN_PARAM), tokens=secrets, name=TOKEN_PARAM)


def credentials(body: bytes, secret: str) -> tuple[dict[str, str], dict[str, str]]:
    """The ``?token=`` Pgyer would carry in the webhook URL set up with ``secret``."""
    return {}, {TOKEN_PARAM: secret}


def parse(body: bytes, *, source: str, headers: Mapping[str, str] | None = None) -> Event:
    """Normalize a Pgyer webhook body.

    The event id is the payload's own ``id`` when present, else a SHA-256 of the payload in
    canonical JSON form: a redelivery of the same content is then recognized as a duplicate,
    even if re-serialized with other spacing or key order.
    Raises PayloadError when the body is not a JSON object with a ``type`` or ``action``.
    """
    payload = parse_object(body)
    action = text_field(payload, "action")
    event_type = text_field(payload, "type") or _ACTION_TYPES.get(action or "")
    if event_type is None:
        raise PayloadError("Pgyer payload must have a string 'type' (or a known 'action')")
    raw_id = payload.get("id")
    event_id = str(raw_id) if isinstance(raw_id, (str, int)) and str(raw_id) else None
    return Event(
        source=source,
        provider=NAME,
        type=event_type,
        id=event_id or _content_id(payload),
        timestamp=_timestamp(payload.get("timestamp")),
        payload=payload,
    )


def _content_id(payload: Mapping[str, object]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _timestamp(value: object) -> str | None:
    """Pgyer sends Unix seconds; normalize to ISO 8601 UTC like App Store Connect."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)  # ASCII only: "²".isdigit() is true and int("²") raises
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33:
        return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    return None
