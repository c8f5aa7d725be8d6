"""When to try a failed delivery again: fast first retries, then exponential, capped, jittered."""

from __future__ import annotations

import random
from collections.abc import Callable

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
