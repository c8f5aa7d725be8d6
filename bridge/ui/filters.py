"""Jinja2 filters of the delivery log pages: times, durations, JSON. Pure functions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from markupsafe import Markup, escape


def utc(timestamp: float | None) -> str:
    """``1767000000.0`` → ``2025-12-29 09:20:00 UTC``."""
    if timestamp is None:
        return "—"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(timestamp: float) -> str:
    """For ``<time datetime=…>``."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def span(seconds: float) -> str:
    """A rough length of time: ``45 s``, ``3 min``, ``5 h``, ``2 d``."""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def relative(timestamp: float, now: float) -> str:
    """``3 min ago`` or ``in 3 min``."""
    delta = timestamp - now
    if abs(delta) < 1:
        return "now"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def milliseconds(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def sender_time(text: str) -> str:
    """A sender's ISO 8601 time (``2025-12-18T22:05:50.038Z``, any offset) in the pages' own
    format (``2025-12-18 22:05:50 UTC``); text that is not such a time is shown as it is."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return text
    return utc((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())


def word_breaks(text: str) -> Markup:
    """Break opportunities (``<wbr>``) between the words of a camelCase or SNAKE_CASE name, so
    that a long event type wraps between words on a phone, never inside one."""
    escaped = str(escape(text))
    return Markup(re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=_)(?=[A-Za-z])", "<wbr>", escaped))  # noqa: S704  (escaped above)


def pretty_json(value: Any) -> str:
    """Indented JSON for people; bytes that are not JSON are shown as text."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except ValueError:
            return text
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def register(app: Flask) -> None:
    for name, function in (
        ("utc", utc),
        ("iso", iso),
        ("span", span),
        ("relative", relative),
        ("ms", milliseconds),
        ("pretty_json", pretty_json),
        ("sender_time", sender_time),
        ("word_breaks", word_breaks),
    ):
        app.add_template_filter(function, name)
