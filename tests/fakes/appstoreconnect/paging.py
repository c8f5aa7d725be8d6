"""Query parameters: the allowed ones, ``limit`` and ``cursor`` pagination, dates."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.fakes.appstoreconnect.errors import Problem, error, parameter_error
from tests.fakes.http import RecordedRequest

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def check_params(record: RecordedRequest, allowed: set[str]) -> None:
    for name in record.args:
        if name not in allowed:
            raise Problem(
                error(
                    400,
                    code="PARAMETER_ERROR.ILLEGAL",
                    title="A parameter is not allowed for this request",
                    detail=f"The parameter '{name}' can not be used with this request",
                    source={"parameter": name},
                )
            )


def paginate(
    base_url: str, record: RecordedRequest, items: list[Any]
) -> tuple[list[Any], dict[str, str], dict[str, Any]]:
    args = record.args
    limit = DEFAULT_LIMIT
    if "limit" in args:
        text = args["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise Problem(
                parameter_error(
                    "limit", f"{text!r} is not a valid limit; the maximum is {MAX_LIMIT}"
                )
            )
        limit = int(text)
    offset = 0
    if "cursor" in args:
        offset = _decode_cursor(args["cursor"])
    page = items[offset : offset + limit]
    self_url = base_url + record.path + (f"?{record.query_string}" if record.query_string else "")
    links = {"self": self_url}
    if offset + limit < len(items):
        pairs = [(k, v) for k, v in parse_qsl(record.query_string) if k != "cursor"]
        pairs.append(("cursor", _encode_cursor(offset + limit)))
        links["next"] = f"{base_url}{record.path}?{urlencode(pairs, safe='[],')}"
    return page, links, {"paging": {"total": len(items), "limit": limit}}


def date_param(args: Mapping[str, str], name: str) -> datetime | None:
    if name not in args:
        return None
    text = args[name]
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in text:
        raise Problem(parameter_error(name, f"{text!r} is not an ISO 8601 date-time"))
    return value


def _encode_cursor(offset: int) -> str:
    raw = json.dumps({"offset": str(offset)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return int(json.loads(raw)["offset"])
    except (ValueError, TypeError, KeyError):
        raise Problem(parameter_error("cursor", f"{cursor!r} is not a valid cursor")) from None
