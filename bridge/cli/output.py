"""How ``bridge`` commands print: aligned tables for people, one JSON object per line for
scripts (``--json``), and Apple's dates in UTC."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click


def echo_json(data: Any) -> None:
    """``data`` as one line of JSON."""
    click.echo(json.dumps(data, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, under ``headers``, without trailing spaces."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def as_utc(text: str | None) -> str:
    """Apple's ``2025-12-15T19:12:55-08:00`` as ``2025-12-16 03:12:55Z``."""
    if not text:
        return "-"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return text
