"""The names a webhook subscribes to (``WebhookEventType``), in both of Apple's spellings.

A delivery's ``data.type`` is camelCase (``buildUploadStateUpdated``); the subscription names
sent to ``POST /v1/webhooks`` are the same words in SCREAMING_SNAKE
(``BUILD_UPLOAD_STATE_UPDATED``): docs/protocols.md, "Envelope" and "Event types";
https://developer.apple.com/documentation/appstoreconnectapi/webhook-events.
:func:`event_types` reads either spelling from user input and raises :class:`EventTypeError`,
with the closest known name, for anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge.providers import appstoreconnect
from bridge.routing.document import suggest

# WebhookEventType (docs/protocols.md, "Event types"): the subscription names, SCREAMING_SNAKE,
# of every event type a webhook delivers (pings cannot be subscribed to).
_CAMEL = sorted(appstoreconnect.EVENT_TYPES - {appstoreconnect.PING})


def snake_name(camel: str) -> str:
    """``buildUploadStateUpdated`` → ``BUILD_UPLOAD_STATE_UPDATED``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def camel_name(snake: str) -> str:
    """``BUILD_UPLOAD_STATE_UPDATED`` → ``buildUploadStateUpdated``."""
    first, *rest = snake.lower().split("_")
    return first + "".join(part.capitalize() for part in rest)


EVENT_TYPES: tuple[str, ...] = tuple(snake_name(name) for name in _CAMEL)


class EventTypeError(ValueError):
    """A name that is not a WebhookEventType; the message lists the known ones."""


def event_types(values: Iterable[str]) -> tuple[str, ...]:
    """Subscription names from user input: each value one name or several comma-separated,
    in either form (``BUILD_UPLOAD_STATE_UPDATED`` or ``buildUploadStateUpdated``), or
    ``all``. Returns them in the API's form, without repeats. Raises EventTypeError."""
    found: dict[str, None] = {}
    for value in values:
        for word in (w.strip() for w in value.split(",")):
            if not word:
                continue
            if word.lower() in ("all", "*"):
                found.update(dict.fromkeys(EVENT_TYPES))
                continue
            found[_event_type(word)] = None
    if not found:
        raise EventTypeError(f"give at least one event type ({_known()}), or `all`")
    return tuple(found)


def _event_type(word: str) -> str:
    name = word.upper() if "_" in word or word.isupper() else snake_name(word)
    if name in EVENT_TYPES:
        return name
    if word == appstoreconnect.PING or name == snake_name(appstoreconnect.PING):
        raise EventTypeError("pings cannot be subscribed to: every webhook gets them on request")
    camel = "_" not in word and not word.isupper()
    hint = suggest(word, _CAMEL) if camel else suggest(name, EVENT_TYPES)
    known = _known(camel=camel)
    raise EventTypeError(f"unknown event type {word!r}{hint} (known: {known}, or `all`)")


def _known(*, camel: bool = False) -> str:
    return ", ".join(_CAMEL if camel else EVENT_TYPES)
