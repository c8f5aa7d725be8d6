"""Strict, bounded JSON decoding shared by the providers."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from bridge.errors import PayloadError


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_object(body: bytes) -> dict[str, Any]:
    """Decode ``body`` as a UTF-8 JSON object.

    Raises PayloadError for invalid UTF-8, invalid JSON (NaN/Infinity included), nesting too
    deep to decode, integers too long to convert, or a top-level value that is not an object.
    """
    if not body.strip():
        raise PayloadError("request body is empty; expected a JSON object")
    try:
        text = body.decode("utf-8")
        value = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise PayloadError("request body is not valid UTF-8") from None
    except RecursionError:
        raise PayloadError("request body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, int digit limit, NaN
        raise PayloadError(f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PayloadError(f"request body must be a JSON object, got {type(value).__name__}")
    _check_strings(value)
    return value


def _check_strings(value: object) -> None:
    """Raise PayloadError for a string (key or value) no store or encoder can hold: an unpaired
    UTF-16 surrogate (``"\\ud800"``: valid JSON escape syntax, not a character, RFC 8259 §8.2;
    it cannot be encoded as UTF-8) or NUL (``"\\u0000"``: PostgreSQL text cannot hold it).
    Iterative: the decoder already bounds the nesting, this walk adds no recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise PayloadError("request body contains a NUL character (\\u0000)")
            if _SURROGATE.search(item):
                raise PayloadError("request body contains an unpaired surrogate (\\ud800-\\udfff)")


_SURROGATE = re.compile("[\ud800-\udfff]")


def text_field(obj: object, key: str) -> str | None:
    """``obj[key]`` when ``obj`` is a dict and the value a non-empty string, else None."""
    if isinstance(obj, dict):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None
