"""The store's logic, once, in the SQL common to SQLite and PostgreSQL.

:class:`SQLStore` is composed of one mixin per part of the store (:mod:`.outbox_sql`,
:mod:`.event_log_sql`, :mod:`.facts_sql`, :mod:`.jobs_sql`, :mod:`.alerts_sql`,
:mod:`.runs_sql`, :mod:`.credentials_sql`, :mod:`.sessions_sql`) over :class:`.SQLStoreBase`.
Backends (:mod:`bridge.store.sqlite`, :mod:`bridge.store.postgres`) supply connections,
transactions (``_tx``) and migrations, and the few words their dialects spell differently.
"""

from __future__ import annotations

from bridge.store.alerts_sql import StuckDeliveriesSQL
from bridge.store.credentials_sql import CredentialsSQL
from bridge.store.event_log_sql import EventLogSQL
from bridge.store.facts_sql import EventFactsSQL
from bridge.store.jobs_sql import JobLeasesSQL
from bridge.store.outbox_sql import OutboxSQL
from bridge.store.runs_sql import RunsSQL
from bridge.store.sessions_sql import AdminSessionsSQL


class SQLStore(
    OutboxSQL,
    EventLogSQL,
    EventFactsSQL,
    JobLeasesSQL,
    StuckDeliveriesSQL,
    RunsSQL,
    CredentialsSQL,
    AdminSessionsSQL,
):
    """Implements :class:`bridge.store.protocols.Store` but ``migrate`` and ``close``, which
    each backend supplies, on top of ``_tx``."""

    def ping(self) -> None:
        with self._tx(write=False) as cur:
            cur.execute("SELECT 1 AS one")
            cur.fetchone()
