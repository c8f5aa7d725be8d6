"""Lengths of time as bridge shows them in messages and logs (``BRIDGE_*`` durations are read
by :func:`bridge.config.parse_duration`)."""

from __future__ import annotations


def two_units(seconds: int) -> str:
    """A whole number of seconds in its two largest units: ``3d 4h``, ``5h 12m``, ``42m``,
    ``30s``, ``0s``."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in units if n][:2]
    return " ".join(shown) or "0s"
