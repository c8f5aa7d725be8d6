"""Which routes an event matches: a pure function of the event and routes.yaml.

Semantics are docs/architecture.md, "Contract: routes.yaml": every criterion given must hold
(``event``, ``source``, ``from``, ``to``, each ``when`` path); every matching route dispatches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.events import Event
from bridge.routing.model import Condition, Route, RoutesConfig

_MISSING = object()
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def match(config: RoutesConfig, event: Event) -> list[Route]:
    """The routes ``event`` matches, in file order (every one of them dispatches)."""
    return [route for route in config.routes if _matches(route, event)]


def mismatches(route: Route, event: Event) -> list[str]:
    """Why ``route`` does not match ``event``, one reason per criterion that fails (empty when
    it matches). For people testing a payload; :func:`match` does not build these strings."""
    reasons = [
        f"{_what(name, value)}, the route wants {_listing(allowed)}"
        for name, allowed, value in (
            ("source", route.sources, event.source),
            ("event", route.events, event.type),
            ("from", route.from_states, event.old_state),
            ("to", route.to_states, event.new_state),
        )
        if not _allows(allowed, value)
    ]
    reasons += [
        f"when {c.path} is {_resolve(c.path, event)!r}, the route wants {_listing(c.values)}"
        for c in route.when
        if not _holds(c, event)
    ]
    return reasons


_NO_VALUE = {"from": "the event has no old state", "to": "the event has no new state"}


def _what(name: str, value: str | None) -> str:
    """``to is 'COMPLETE'``, or for a missing state, that the event carries none."""
    if value is None and name in _NO_VALUE:
        return _NO_VALUE[name]
    return f"{name} is {value!r}"


def _listing(values: frozenset[str] | tuple[Any, ...] | None) -> str:
    ordered = sorted(values or (), key=str) if isinstance(values, frozenset) else values or ()
    return " or ".join(repr(v) for v in ordered)


def _matches(route: Route, event: Event) -> bool:
    return (
        _allows(route.sources, event.source)
        and _allows(route.events, event.type)
        and _allows(route.from_states, event.old_state)
        and _allows(route.to_states, event.new_state)
        and all(_holds(condition, event) for condition in route.when)
    )


def _allows(allowed: frozenset[str] | None, value: str | None) -> bool:
    """None allows anything; otherwise the value must be listed (a missing one never is)."""
    return allowed is None or value in allowed


def _holds(condition: Condition, event: Event) -> bool:
    actual = _resolve(condition.path, event)
    return any(_same(expected, actual) for expected in condition.values)


def _resolve(path: str, event: Event) -> Any:
    """``event.<field>`` reads the normalized event; ``payload.<path>`` or any other path
    reads the body, by mapping keys and list indexes. Missing is None (matches only null)."""
    head, _, rest = path.partition(".")
    if head == "event":
        value: Any = event.as_dict()
    else:
        value = event.payload
        rest = rest if head == "payload" else path
    for segment in rest.split("."):
        if isinstance(value, Mapping):
            value = value.get(segment, _MISSING)
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def _same(expected: object, actual: object) -> bool:
    """Equality across YAML and JSON forms: ``2.4`` equals ``"2.4"``, but ``true`` only
    equals ``true`` (not ``"True"`` nor ``1``), and null only null."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, str) and isinstance(actual, str):
        return expected == actual
    number = _number(expected)
    return number is not None and number == _number(actual)


def _number(value: object) -> int | float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _JSON_NUMBER.fullmatch(value):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:  # over Python's 4,300-digit limit: no when: value is that long
            return None
    return None
