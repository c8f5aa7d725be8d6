"""Destinations that are still the example's placeholder.

The shipped routes.yaml writes ``repository: ${IOS_REPOSITORY:-acme/ios-app}`` so that it
loads before anything is configured. When the variable is unset, or set but empty (as a
deploy form leaves an optional field), the example repository is used: the file loads, and
every delivery fails with 404 on release day. These warnings name the variable to set.
"""

from __future__ import annotations

from typing import Any

from bridge.routing.document import Path, Report

# The keys of a route whose value is where a delivery goes; a placeholder there is a warning.
# (A key added to routes.yaml that names a destination is added here.)
DESTINATION_KEYS: tuple[Path, ...] = (("dispatch", "repository"),)


def warn_placeholders(data: dict[str, Any], report: Report) -> tuple[str, ...]:
    """Warn (in ``report``, with file:line) about every destination of ``data``'s routes whose
    value came from a ``${VAR:-default}`` default; returns those warnings as
    ``route NAME: message`` (no file path: /readyz shows them without a token)."""
    found: list[str] = []
    for i, route in enumerate(data.get("routes") or ()):
        for key in DESTINATION_KEYS:
            path: Path = ("routes", i, *key)
            names = report.defaulted.get(path)
            if not names:
                continue
            value = _value(route, key)
            variables = " and ".join(names)
            message = (
                f"{variables} is unset or empty, so this route uses the example placeholder "
                f"{value!r}: set {variables} (deliveries to it would fail)"
            )
            report.warning(path, message)
            found.append(f"route {route.get('name')}: {message}")
    return tuple(found)


def _value(route: Any, key: Path) -> object:
    for part in key:
        route = route.get(part) if isinstance(route, dict) else None
    return route
