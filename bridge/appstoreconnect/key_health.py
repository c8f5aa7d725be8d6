"""Whether App Store Connect refuses bridge's API key, as the deployment last saw it.

A refused key (401/403: revoked, wrong issuer id, a role too weak) does not fail deliveries:
they are sent without details, and the log says *delivered*. Every event after it is refused
the same way, so the newest enrichment answer stored (shared by every process through the
database) is shown where operators look: the delivery log's banner, ``/readyz``,
``bridge events`` and ``bridge_asc_key_refused`` in /metrics.
"""

from __future__ import annotations

from bridge.appstoreconnect.enrichment import KEY_REFUSED
from bridge.store import EventLog


def refused_key(store: EventLog) -> str | None:
    """The reason App Store Connect gave, when the newest event that asked for details was
    refused for the key; None otherwise. Raises StoreUnavailableError."""
    error = store.latest_details_error()
    if error is not None and error.startswith(KEY_REFUSED):
        return error
    return None
