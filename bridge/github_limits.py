"""GitHub's limits on content-creating requests, and the budget bridge keeps below them.

A ``repository_dispatch`` or ``workflow_dispatch`` POST creates content. GitHub documents
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits):
"In general, no more than 80 content-generating requests per minute and no more than 500
content-generating requests per hour are allowed", and asks to "wait at least one second
between each request" when making many POST requests for one user or client id
(https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api).
A request past a secondary limit is refused (403 or 429, with ``Retry-After``) and repeated
refusals can get an integration banned, so bridge paces each credential *before* sending
(``BRIDGE_GITHUB_PER_MINUTE``, ``BRIDGE_GITHUB_PER_HOUR``) and keeps ``Retry-After`` only as
the fallback.

Fresh deliveries (stored less than :data:`FRESH_SECONDS` ago: a new event's first attempt and
its quick retries) may use the
whole budget; the backlog (everything else: retries, deliveries left by an outage) sends only
while the window holds fewer than :data:`BACKLOG_SHARE` of its sends (fresh ones included),
one at a time: ``60 / backlog_per_minute`` seconds apart (1.1 s at the defaults), or, while
fresh deliveries are being sent (one in the last minute), ``3600 / backlog_per_hour`` apart
(10.7 s: the hour's share spread evenly). The last quarter of every window is thus kept for
fresh deliveries, and once they flow the backlog takes at most 6 of the minute's 72: a steady
stream of up to 66 fresh deliveries a minute (and 113 an hour, or more while the backlog has
not used its share) waits for no backlog. Faster, they take the whole budget and the backlog
waits. Pure functions: the store counts the sends
(``bridge/store/pacing_sql.py``), the dispatcher builds the plan
(``bridge/delivery/github_pacing.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import ConfigError

# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
GITHUB_PER_MINUTE = 80
GITHUB_PER_HOUR = 500
# bridge's defaults: 90 % of each, a margin for the time between a claim (when a send is
# counted) and the request leaving, and for other tools using the same credential.
DEFAULT_PER_MINUTE = 72
DEFAULT_PER_HOUR = 450
# The share of each window the backlog may use; the rest is kept for fresh deliveries.
BACKLOG_SHARE = 0.75
# A delivery stored less than this long ago is fresh (its retries within it too: a new event's
# quick retries after a 502 are not held behind the backlog, nor spaced by its own first send).
FRESH_SECONDS = 60.0
MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Limits:
    """Content-creating requests one credential may make, per sliding minute and hour."""

    per_minute: int = DEFAULT_PER_MINUTE
    per_hour: int = DEFAULT_PER_HOUR

    @property
    def backlog_per_minute(self) -> int:
        return max(1, math.floor(self.per_minute * BACKLOG_SHARE))

    @property
    def backlog_per_hour(self) -> int:
        return max(1, math.floor(self.per_hour * BACKLOG_SHARE))

    @property
    def spacing(self) -> float:
        """Seconds between two backlog sends while no fresh delivery was sent in the last
        minute: the per-minute share spread evenly (≥ 1 s at the defaults, as GitHub's best
        practices ask)."""
        return MINUTE / self.backlog_per_minute

    @property
    def busy_spacing(self) -> float:
        """Seconds between two backlog sends while fresh deliveries are being sent: the
        hourly share spread evenly (10.7 s at the defaults), so that a steady stream of fresh
        deliveries keeps nearly the whole minute."""
        return HOUR / self.backlog_per_hour

    @property
    def above_github(self) -> bool:
        """Set above what GitHub documents for github.com (fine for a GitHub Enterprise
        Server whose administrator changed its limits; refusals otherwise)."""
        return self.per_minute > GITHUB_PER_MINUTE or self.per_hour > GITHUB_PER_HOUR


@dataclass(frozen=True, slots=True)
class Usage:
    """One credential's sends in the last hour, as the store counts them: how many in the
    sliding minute and hour, the oldest of each (when a full window opens again), and the
    last backlog send and the fresh sends of the minute (spacing)."""

    minute: int = 0
    fresh_minute: int = 0
    hour: int = 0
    oldest_minute: float | None = None
    oldest_hour: float | None = None
    last_backlog: float | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    """What one credential may send now: ``fresh`` deliveries, of which at most ``backlog``
    from the backlog; ``reopens_at``: when the budget grows again (None: the backlog may send
    now): when the backlog may send, or fresh deliveries when they may not either."""

    fresh: int
    backlog: int
    reopens_at: float | None


def budget(limits: Limits, usage: Usage, now: float) -> Budget:
    """The credential's budget at ``now`` from its ``usage``. Each window is sliding: a send
    counts for 60 s and for 3600 s after it was made."""
    fresh = max(0, min(limits.per_minute - usage.minute, limits.per_hour - usage.hour))
    spacing = limits.busy_spacing if usage.fresh_minute else limits.spacing
    spaced = usage.last_backlog is None or now >= usage.last_backlog + spacing
    backlog = min(
        fresh,
        limits.backlog_per_minute - usage.minute,
        limits.backlog_per_hour - usage.hour,
        1 if spaced else 0,
    )
    if backlog > 0:
        return Budget(fresh, backlog, None)
    # Every constraint that blocks must clear: the latest of their opening times. A window
    # holding more sends than it allows (the limits were lowered) opens later than its
    # oldest send's expiry: waking early only looks again.
    minute_opens = (usage.oldest_minute or now) + MINUTE
    hour_opens = (usage.oldest_hour or now) + HOUR
    fresh_blocks = [
        (usage.minute >= limits.per_minute, minute_opens),
        (usage.hour >= limits.per_hour, hour_opens),
    ]
    backlog_blocks = [
        *fresh_blocks,
        (usage.minute >= limits.backlog_per_minute, minute_opens),
        (usage.hour >= limits.backlog_per_hour, hour_opens),
        (not spaced, (usage.last_backlog or now) + spacing),
    ]
    opens = max((at for blocked, at in backlog_blocks if blocked), default=now)
    if fresh == 0:  # fresh deliveries may go again before the backlog does
        opens = min(opens, max((at for blocked, at in fresh_blocks if blocked), default=now))
    return Budget(fresh, 0, opens)


@dataclass(frozen=True, slots=True)
class Pacing:
    """The dispatcher's plan for one claim: the limits, and which routes send with which
    credential (``credential → route names``). Routes not named here are not paced (chat and
    HTTP targets, dry runs)."""

    limits: Limits
    credentials: Mapping[str, tuple[str, ...]]
    fresh_seconds: float = FRESH_SECONDS
    _by_route: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_route = {r: c for c, routes in self.credentials.items() for r in routes}
        object.__setattr__(self, "_by_route", by_route)

    def credential_of(self, route: str) -> str | None:
        return self._by_route.get(route)

    @property
    def paced_routes(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_route))


def read_pacing(env: Mapping[str, str], values: dict[str, Any]) -> None:
    """``BRIDGE_GITHUB_PER_MINUTE`` and ``BRIDGE_GITHUB_PER_HOUR`` into ``values``
    (``github_per_minute``, ``github_per_hour``). Values above GitHub's documented limits are
    accepted (a GitHub Enterprise Server may allow more) and warned about at start. Raises
    ConfigError for anything but a positive whole number."""
    for attr, var in (
        ("github_per_minute", "BRIDGE_GITHUB_PER_MINUTE"),
        ("github_per_hour", "BRIDGE_GITHUB_PER_HOUR"),
    ):
        text = env.get(var, "").strip()
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise ConfigError(
                f"{var}={text!r} must be a whole number of dispatches, 1 or more (GitHub "
                f"allows {GITHUB_PER_MINUTE} a minute and {GITHUB_PER_HOUR} an hour; "
                f"default {DEFAULT_PER_MINUTE} and {DEFAULT_PER_HOUR})"
            )
        values[attr] = int(text)
