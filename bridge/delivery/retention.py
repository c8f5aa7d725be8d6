"""Housekeeping the dispatcher does about once an hour: pruning what retention no longer keeps,
and saying when the database grows past ``BRIDGE_DB_SIZE_WARNING``.

``BRIDGE_RETENTION`` (off by default) prunes finished events; ``BRIDGE_UNROUTED_RETENTION``
(7 days by default) prunes sooner the events no route matched: they dispatch nothing, and a
credential holder sending many would otherwise fill the database for good. Failed and pending
deliveries are never pruned here.
"""

from __future__ import annotations

import logging

from bridge.config import Settings
from bridge.store import Outbox

log = logging.getLogger(__name__)


def housekeeping(store: Outbox, settings: Settings, now: float) -> int:
    """Prune what is due and check the database's size; returns how many events went.
    Raises StoreUnavailableError."""
    count = 0
    retention, unrouted = settings.retention, settings.unrouted_retention
    if retention is not None:
        pruned = store.prune(before=now - retention)
        if pruned:
            log.info("pruned %d finished events older than %.0fs", pruned, retention)
        count += pruned
    if unrouted is not None and (retention is None or unrouted < retention):
        pruned = store.prune(before=now - unrouted, unrouted_only=True)
        if pruned:
            log.info("pruned %d unrouted events older than %.0fs", pruned, unrouted)
        count += pruned
    limit = settings.db_size_warning
    if limit is not None:
        size = store.size_bytes()
        if size > limit:
            log.warning(
                "the database takes %d MiB, more than BRIDGE_DB_SIZE_WARNING (%d MiB): "
                "shorten BRIDGE_RETENTION or BRIDGE_UNROUTED_RETENTION, or `bridge prune`",
                size // 2**20, limit // 2**20,
            )  # fmt: skip
    return count
