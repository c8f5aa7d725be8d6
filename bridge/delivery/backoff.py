"""When to try a failed delivery again: fast first retries, then exponential, capped, jittered."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC

from bridge.config import Settings
from bridge.store import AttemptResult, Claim

# Seconds before attempt n+1 after n failed attempts: 1 s, 5 s, 30 s, 2 min, 10 min, 30 min,
# then doubling up to the cap (1 h by default) until the retry horizon (24 h by default).
SCHEDULE = (1.0, 5.0, 30.0, 120.0, 600.0, 1800.0)


def retry_delay(
    failed_attempts: int,
    *,
    cap: float,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before the next attempt. ±25 % jitter spreads retries of many deliveries that
    failed together; a server's ``Retry-After`` is a floor, never shortened by jitter."""
    n = max(failed_attempts, 1)
    base = SCHEDULE[n - 1] if n <= len(SCHEDULE) else SCHEDULE[-1] * 2.0 ** (n - len(SCHEDULE))
    delay = min(base, cap) * (0.75 + 0.5 * rand())
    return max(delay, retry_after or 0.0)


def next_attempt(
    claim: Claim,
    settings: Settings,
    *,
    started: float,
    status: int | None,
    message: str,
    sent: dict[str, object] | None,
    retry_after: float | None,
) -> AttemptResult:
    """A failed attempt of ``claim`` (started at ``started``): due again after the backoff, or
    ``failed`` when the next attempt would pass the retry horizon (``BRIDGE_RETRY_HORIZON``
    after the delivery was queued)."""
    failed = claim.attempts + 1
    delay = retry_delay(failed, cap=settings.retry_max_delay, retry_after=retry_after)
    next_at = started + delay
    if next_at - claim.queued_at > settings.retry_horizon:
        hours = settings.retry_horizon / 3600
        return AttemptResult(
            "failed", started, 0.0, status,
            f"gave up after {failed} attempts over {hours:g} h; last error: {message}", sent,
        )  # fmt: skip
    return AttemptResult("retry", started, 0.0, status, message, sent, next_attempt_at=next_at)


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` (lower-case header names) in seconds, from a number or an HTTP date
    (https://www.rfc-editor.org/rfc/rfc9110#field.retry-after); None when absent or
    unreadable."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())
