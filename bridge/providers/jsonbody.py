"""Strict, bounded JSON decoding shared by the providers."""

from __future__ import annotations

import json
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
    return value


def text_field(obj: object, key: str) -> str | None:
    """``obj[key]`` when ``obj`` is a dict and the value a non-empty string, else None."""
    if isinstance(obj, dict):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None
