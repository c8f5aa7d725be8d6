"""The normalized event every provider produces and everything downstream consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Instance:
    """The resource an event is about, e.g. ``buildUploads`` / ``1f2c…``."""

    type: str
    id: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id}


@dataclass(frozen=True, slots=True)
class Event:
    """One webhook delivery, normalized across providers.

    ``type`` stays a plain string: providers add event types faster than an enum could follow.
    ``payload`` is the parsed body, kept for templates and ``when`` conditions.
    """

    source: str
    provider: str
    type: str
    id: str
    old_state: str | None = None
    new_state: str | None = None
    instance: Instance | None = None
    timestamp: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """The event fields (without ``payload``) as plain JSON-ready data."""
        return {
            "source": self.source,
            "provider": self.provider,
            "type": self.type,
            "id": self.id,
            "old_state": self.old_state,
            "new_state": self.new_state,
            "instance": self.instance.as_dict() if self.instance else None,
            "timestamp": self.timestamp,
        }
