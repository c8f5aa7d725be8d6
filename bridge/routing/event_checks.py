"""Warnings about a route's ``event``, ``from`` and ``to``: names no provider sends, states
that belong to another event type, and a ``from`` on an event type whose payloads may carry
the new state only. Each names what was probably meant, across the spellings people copy:
App Store Connect shows event types in SCREAMING_SNAKE_CASE (``BUILD_UPLOAD_STATE_UPDATED``)
while webhooks carry camelCase (``buildUploadStateUpdated``), and states are upper case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bridge.providers import PROVIDERS
from bridge.routing.document import Path, Report, suggest


def strings(path: Path, value: object) -> Iterator[tuple[Path, str]]:
    """The strings of a "string or list of strings" value, each with its own path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        yield from (((*path, i), item) for i, item in enumerate(value) if isinstance(item, str))


def camel_case(name: str) -> str:
    """``BUILD_UPLOAD_STATE_UPDATED`` → ``buildUploadStateUpdated``."""
    first, *rest = name.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``"; did you mean 'X'?"``: the same name in another case or in camelCase first (those
    are not typos a string distance catches well), then the closest name, or ``""``."""
    candidates = sorted(known)
    by_fold = {name.casefold(): name for name in candidates}
    for spelling in (word, camel_case(word)):
        if spelling.casefold() in by_fold:
            found = by_fold[spelling.casefold()]
            why = " (webhooks carry the camelCase name)" if "_" in word and found != word else ""
            return f"; did you mean {found!r}?{why}"
    return suggest(word, candidates)


def warn_events(here: Path, value: object, providers: set[str] | None, report: Report) -> None:
    """``providers`` None: the route takes any source, so only warn if no provider knows it."""
    senders = providers if providers is not None else set(PROVIDERS)
    known = frozenset().union(*(PROVIDERS[p].EVENT_TYPES for p in senders))
    who = " or ".join(sorted(senders)) if providers is not None else "any provider"
    for item, name in strings((*here, "event"), value):
        if name != "*" and name not in known:
            message = f"{report.show(item, name)} is not an event type {who} sends"
            report.warning(item, message + did_you_mean(name, known))


def warn_states(
    here: Path, raw: dict[str, Any], provider: str, events: frozenset[str] | None, report: Report
) -> None:
    """``from`` / ``to`` naming a state ``provider`` never sends, or one that its event types
    (``events``; None: any) never carry, or given where the events carry no state at all; and
    ``from`` on event types whose old state may be missing."""
    declared = PROVIDERS[provider]
    by_type = declared.STATES_BY_EVENT_TYPE
    types = sorted(events & by_type.keys()) if events is not None else []
    allowed = frozenset().union(*(by_type[t] for t in types)) if types else declared.STATES
    for key in ("from", "to"):
        if key not in raw:
            continue
        if not allowed:
            carriers = " and ".join(types) if types and declared.STATES else provider
            report.warning((*here, key), f"{carriers} events carry no state: this never matches")
            continue
        for item, state in strings((*here, key), raw.get(key)):
            if state in allowed:
                continue
            shown = report.show(item, state)
            if state in declared.STATES and types:
                listed = ", ".join(sorted(allowed))
                message = f"{shown} is not a state of {' or '.join(types)} (its states: {listed})"
                report.warning(item, message)
            else:
                message = f"{shown} is not a state {provider} sends"
                report.warning(item, message + did_you_mean(state, allowed))
    optional = [t for t in types if t in declared.OLD_STATE_OPTIONAL]
    if "from" in raw and optional:
        report.warning(
            (*here, "from"),
            f"{' and '.join(optional)} payloads may carry only the new state (Apple's documented "
            "example has no old state), and `from` never matches those: match on `to` alone",
        )
