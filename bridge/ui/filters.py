"""Jinja2 filters of the delivery log pages: times, durations, JSON. Pure functions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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


# A page shows at most this much of one JSON document, and indents at most this deep: nested
# lists indented in full grow with the square of their depth (10 KiB of "[[[…" was ~10 MB of
# page). Deeper values are written on one line; the raw body is a download away.
MAX_RENDERED = 256 * 1024
MAX_INDENT_DEPTH = 12


def pretty_json(value: Any, limit: int = MAX_RENDERED) -> str:
    """Indented JSON for people, at most ``limit`` characters (then a line saying how much
    was left out); bytes that are not JSON are shown as text, as far as the limit."""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "replace")
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return _cut(text, limit, len(text))
    out: list[str] = []
    size = 0
    for chunk in _pretty(value, 0):
        out.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    text = "".join(out)
    return _cut(text, limit, None) if size > limit else text


def _cut(text: str, limit: int, total: int | None) -> str:
    if len(text) <= limit:
        return text
    more = f"{total - limit:,} more characters" if total is not None else "the rest"
    return f"{text[:limit]}\n… cut here: {more} (download the raw body to see it all)"


def _pretty(value: Any, depth: int) -> Iterator[str]:
    """json.dumps(indent=2), lazily, with containers past MAX_INDENT_DEPTH on one line."""
    if not isinstance(value, dict | list) or not value or depth >= MAX_INDENT_DEPTH:
        yield json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        return
    pad = "  " * (depth + 1)
    items = value.items() if isinstance(value, dict) else enumerate(value)
    yield "{\n" if isinstance(value, dict) else "[\n"
    last = len(value) - 1
    for i, (key, item) in enumerate(items):
        yield pad
        if isinstance(value, dict):
            yield json.dumps(key, ensure_ascii=False) + ": "
        yield from _pretty(item, depth + 1)
        yield ",\n" if i < last else "\n"
    yield "  " * depth + ("}" if isinstance(value, dict) else "]")


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
