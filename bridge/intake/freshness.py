"""A source's ``max_age:``: refuse an App Store Connect delivery whose signed
``data.attributes.timestamp`` is older than the window.

The signature proves who sent a body, not when: a captured delivery verifies forever, and
once its event is pruned the duplicate check no longer stops it from being stored (and
dispatched) again. The timestamp is inside the signed body, so it cannot be changed. Off by
default: ``bridge asc redeliver`` and App Store Connect's own retries legitimately bring old
events. Events that carry no timestamp (build uploads) pass; a timestamp that cannot be read
is refused (docs/protocols.md, "Event types").
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bridge.errors import PayloadError
from bridge.events import Event

_ISO = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", re.ASCII
)


def check_fresh(event: Event, max_age: float | None, now: float) -> None:
    """Raise PayloadError (400) when ``event`` is older than ``max_age`` seconds."""
    if max_age is None or event.timestamp is None:
        return
    when = _epoch(event.timestamp)
    if when is None:
        raise PayloadError("data.attributes.timestamp is not an ISO 8601 time; refused (max_age)")
    if now - when > max_age:
        raise PayloadError(
            f"event of {event.timestamp} is older than this source's max_age ({max_age:.0f} s): "
            "refused as a possible replay"
        )


def _epoch(text: str) -> float | None:
    m = _ISO.match(text.strip())
    if m is None:
        return None
    whole, fraction, zone = m.groups()
    try:
        parsed = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return parsed.astimezone(UTC).timestamp() + float(f"0.{fraction or 0}")
