"""The durable store: events, one delivery per matched route (the outbox), and every attempt.

The interface is :class:`Store`, cut by consumer into narrower protocols
(:mod:`bridge.store.protocols`); the records it takes and gives are in
:mod:`bridge.store.records`. :func:`open_store` picks the backend from ``DATABASE_URL``.
Guarantees every backend keeps:

* an event and its deliveries are written in one transaction, before the webhook is answered;
* ``(source, event_id)`` is unique, so a redelivery is detected, race-free, by the insert;
* a delivery is claimed with a lease; a claim whose holder died expires and is claimed again
  (at-least-once delivery).

Modules of this package import each other, never the package itself, so this module can
import the backends at its top; the PostgreSQL backend only when ``DATABASE_URL`` names it
(psycopg and its pool add about 60 ms to a process's start and 13 MiB to every process).
"""

from __future__ import annotations

from bridge.errors import ConfigError
from bridge.store.database_url import is_postgres_url
from bridge.store.protocols import (
    AdminSessions,
    CredentialHealth,
    EventFacts,
    EventIntake,
    EventLog,
    EventLookup,
    JobLeases,
    Outbox,
    RunTracking,
    Store,
    StuckDeliveries,
)
from bridge.store.records import (
    AttemptOutcome,
    AttemptRecord,
    AttemptResult,
    Claim,
    CredentialState,
    DeliveryRecord,
    DeliveryState,
    Details,
    EventDetail,
    EventFilter,
    EventPage,
    EventRecord,
    OutboxStats,
    Recorded,
    RunReport,
    RunUpdate,
    StateChange,
    StuckDelivery,
)
from bridge.store.sqlite import SQLiteStore, sqlite_path

__all__ = [
    "AdminSessions",
    "AttemptOutcome",
    "AttemptRecord",
    "AttemptResult",
    "Claim",
    "CredentialHealth",
    "CredentialState",
    "DeliveryRecord",
    "DeliveryState",
    "Details",
    "EventDetail",
    "EventFacts",
    "EventFilter",
    "EventIntake",
    "EventLog",
    "EventLookup",
    "EventPage",
    "EventRecord",
    "JobLeases",
    "Outbox",
    "OutboxStats",
    "Recorded",
    "RunReport",
    "RunTracking",
    "RunUpdate",
    "StateChange",
    "Store",
    "StuckDeliveries",
    "StuckDelivery",
    "check_database_url",
    "open_store",
]


def check_database_url(database_url: str) -> None:
    """Raise ConfigError unless ``database_url`` names a store bridge can open (without
    connecting: the gunicorn master checks it before starting workers)."""
    if database_url.startswith("sqlite:"):
        sqlite_path(database_url)
    elif not is_postgres_url(database_url):
        scheme = database_url.partition(":")[0] or "(none)"
        raise ConfigError(
            f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path.db or postgres://…"
        )


def open_store(
    database_url: str, *, pool_size: int = 10, warm: int = 1, create: bool = True
) -> Store:
    """The store ``DATABASE_URL`` names, its schema migrated. ``pool_size``: most connections
    per process (PostgreSQL); ``warm``: how many of them stay open while idle. ``create`` off:
    a SQLite file that does not exist is an error, not a new database. Raises ConfigError for
    an unsupported URL (or a missing SQLite file), and StoreUnavailableError when the
    database cannot be reached."""
    if database_url.startswith("sqlite:"):
        return SQLiteStore(sqlite_path(database_url), create=create)
    if is_postgres_url(database_url):
        from bridge.store.postgres import PostgresStore  # noqa: PLC0415  (see the docstring)

        return PostgresStore(database_url, pool_size=pool_size, warm=warm)
    scheme = database_url.partition(":")[0] or "(none)"
    raise ConfigError(
        f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path.db or postgres://…"
    )
