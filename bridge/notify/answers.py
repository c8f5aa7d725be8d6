"""How a chat service's HTTP answer becomes a delivered attempt or a failure that says whether
a retry helps. Shared by the kinds in :mod:`bridge.notify.kinds`, which add what their service
answers in the body (DingTalk, Feishu and WeCom answer HTTP 200 with a non-zero error code).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from http import HTTPStatus
from typing import Any

from bridge.delivery.backoff import retry_after_header
from bridge.errors import PermanentSendError, TransientSendError

MAX_ANSWER = 300  # characters of an answer kept for the delivery log
FALLBACK_WAIT = 60.0  # a 429 without Retry-After: wait a minute


def check_http(target: str, status: int, headers: Mapping[str, str], text: str) -> str:
    """The short answer of a 2xx, for the delivery log. Raises TransientSendError (429,
    408, 5xx: ``Retry-After`` honoured) or PermanentSendError (other 4xx, a redirect)."""
    answer = summary(status, text)
    if 200 <= status < 300:
        return answer
    lowered = {k.lower(): v for k, v in headers.items()}
    message = f"{target} answered {answer}"
    if status in {429, 408} or status >= 500:
        wait = retry_after_header(lowered)
        if wait is None and status == 429:
            wait = FALLBACK_WAIT
        raise TransientSendError(message, status=status, retry_after=wait)
    if 300 <= status < 400:
        message += " (a redirect: bridge does not follow them; check the URL)"
    raise PermanentSendError(message, status=status)


def check_code(
    target: str,
    status: int,
    text: str,
    *,
    keys: tuple[str, ...],
    transient: Collection[int],
) -> str:
    """For services that answer HTTP 200 with ``{"errcode": 0}`` (or ``code``) on success and
    a non-zero code on failure: a non-zero code is a failed attempt, transient when it is one
    of ``transient`` (rate limits, busy), permanent otherwise (signature, keyword, format)."""
    data = parse(text)
    code: Any = None
    if isinstance(data, dict):
        code = next((data[k] for k in keys if k in data), None)
    if code in (0, "0"):
        return summary(status, text)
    if code is None:
        raise PermanentSendError(
            f"{target} answered {summary(status, text)}: no {'/'.join(keys)} in the answer",
            status=status,
        )
    message = f"{target} refused the message: {summary(status, text)}"
    if _as_int(code) in transient:
        raise TransientSendError(message, status=status, retry_after=FALLBACK_WAIT)
    raise PermanentSendError(message, status=status)


def parse(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


def summary(status: int, text: str) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    answer = f"{status} {reason}".strip()
    body = " ".join(text.split())
    if body:
        answer += f": {body}"
    return answer if len(answer) <= MAX_ANSWER else answer[: MAX_ANSWER - 1] + "…"


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
