"""The store's schema, as numbered migrations applied in order, one list per backend.

Both lists describe the same tables, columns and constraints (same semantics on every
backend); only the types are spelled per dialect. A new migration is appended to *both*.
"""

from __future__ import annotations

SQLITE_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE events (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            type TEXT NOT NULL,
            old_state TEXT,
            new_state TEXT,
            instance_type TEXT,
            instance_id TEXT,
            timestamp TEXT,
            body BLOB NOT NULL,
            received_at REAL NOT NULL,
            UNIQUE (source, event_id)
        )""",
        """CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            event_pk INTEGER NOT NULL REFERENCES events (pk),
            route TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'delivered', 'failed', 'dry_run')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            queued_at REAL NOT NULL,
            next_attempt_at REAL NOT NULL,
            lease_owner TEXT,
            lease_until REAL,
            last_status INTEGER,
            last_error TEXT,
            request TEXT,
            run_id INTEGER,
            run_url TEXT,
            finished_at REAL
        )""",
        "CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at)",
        "CREATE INDEX deliveries_event ON deliveries (event_pk)",
        """CREATE TABLE attempts (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            delivery_id TEXT NOT NULL REFERENCES deliveries (id),
            number INTEGER NOT NULL,
            started_at REAL NOT NULL,
            duration_ms REAL NOT NULL,
            status INTEGER,
            outcome TEXT NOT NULL,
            message TEXT
        )""",
        "CREATE INDEX attempts_delivery ON attempts (delivery_id)",
        "CREATE INDEX events_received ON events (received_at)",
    ),
    # 2: the delivery log's filters, newest first, without scanning every event.
    (
        "CREATE INDEX events_source ON events (source, pk)",
        "CREATE INDEX events_type ON events (type, pk)",
        "CREATE INDEX deliveries_state_event ON deliveries (state, event_pk)",
    ),
    # 3: App Store Connect details fetched once per event (or why not), an event's history
    # by instance (review times), and leases for jobs one process runs at a time (reconcile).
    (
        "ALTER TABLE events ADD COLUMN details TEXT",
        "ALTER TABLE events ADD COLUMN details_error TEXT",
        "CREATE INDEX events_instance ON events (instance_type, instance_id, pk)",
        """CREATE TABLE jobs (
            name TEXT PRIMARY KEY,
            lease_owner TEXT,
            lease_until REAL,
            last_run_at REAL,
            last_result TEXT
        )""",
    ),
    # 4: when a delivery was announced as stuck (alerts.stuck), so it is announced once.
    ("ALTER TABLE deliveries ADD COLUMN stuck_alerted_at REAL",),
    # 5: how the workflow run a delivery started went (GitHub's workflow_run webhooks),
    # found by run id.
    (
        "ALTER TABLE deliveries ADD COLUMN run_status TEXT",
        "ALTER TABLE deliveries ADD COLUMN run_conclusion TEXT",
        "ALTER TABLE deliveries ADD COLUMN run_attempt INTEGER",
        "ALTER TABLE deliveries ADD COLUMN run_updated_at REAL",
        "CREATE INDEX deliveries_run ON deliveries (run_id)",
    ),
    # 6: an instance's deliveries of one route go out in the order its events happened
    # (the provider's timestamp; when it sent none, when bridge received it).
    (
        "ALTER TABLE events ADD COLUMN occurred_at REAL",
        "UPDATE events SET occurred_at = received_at",
    ),
    # 7: how the credentials bridge uses are doing (GitHub, App Store Connect): when they were
    # last accepted, last refused and why, and when a GitHub token expires.
    (
        """CREATE TABLE credentials (
            name TEXT PRIMARY KEY,
            accepted_at REAL,
            refused_at REAL,
            refused_reason TEXT,
            expires_at REAL
        )""",
    ),
    # 8: admin sessions that can be ended server-side: the generation every session cookie
    # must carry ("log out everywhere" bumps it), and sessions ended by logging out.
    (
        """CREATE TABLE admin_sessions (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL
        )""",
        "INSERT INTO admin_sessions (id, generation) VALUES (1, 0)",
        """CREATE TABLE revoked_sessions (
            session_id TEXT PRIMARY KEY,
            revoked_at REAL NOT NULL
        )""",
    ),
    # 9: GitHub dispatches sent per credential in the last hour, shared by every dispatcher
    # (bridge.github_limits paces below GitHub's secondary limits); pending deliveries newest
    # first (fresh deliveries are claimed first, then the backlog newest first).
    (
        """CREATE TABLE github_sends (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            credential TEXT NOT NULL,
            sent_at REAL NOT NULL,
            backlog INTEGER NOT NULL
        )""",
        "CREATE INDEX github_sends_sent ON github_sends (sent_at)",
        "CREATE INDEX deliveries_pending_created ON deliveries (created_at)"
        " WHERE state = 'pending'",
    ),
)

# Times are epoch seconds in DOUBLE PRECISION (PostgreSQL's REAL is 4 bytes: too coarse).
# deliveries.seq keeps an event's deliveries in route order, as SQLite's rowid does.
POSTGRES_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE events (
            pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            source TEXT NOT NULL,
            event_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            type TEXT NOT NULL,
            old_state TEXT,
            new_state TEXT,
            instance_type TEXT,
            instance_id TEXT,
            timestamp TEXT,
            body BYTEA NOT NULL,
            received_at DOUBLE PRECISION NOT NULL,
            UNIQUE (source, event_id)
        )""",
        """CREATE TABLE deliveries (
            id TEXT PRIMARY KEY,
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            event_pk BIGINT NOT NULL REFERENCES events (pk),
            route TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'delivered', 'failed', 'dry_run')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL,
            queued_at DOUBLE PRECISION NOT NULL,
            next_attempt_at DOUBLE PRECISION NOT NULL,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION,
            last_status INTEGER,
            last_error TEXT,
            request TEXT,
            run_id BIGINT,
            run_url TEXT,
            finished_at DOUBLE PRECISION
        )""",
        "CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at)",
        "CREATE INDEX deliveries_event ON deliveries (event_pk)",
        """CREATE TABLE attempts (
            pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            delivery_id TEXT NOT NULL REFERENCES deliveries (id),
            number INTEGER NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            status INTEGER,
            outcome TEXT NOT NULL,
            message TEXT
        )""",
        "CREATE INDEX attempts_delivery ON attempts (delivery_id)",
        "CREATE INDEX events_received ON events (received_at)",
    ),
    # 2: the delivery log's filters, newest first, without scanning every event.
    (
        "CREATE INDEX events_source ON events (source, pk)",
        "CREATE INDEX events_type ON events (type, pk)",
        "CREATE INDEX deliveries_state_event ON deliveries (state, event_pk)",
    ),
    # 3: App Store Connect details fetched once per event (or why not), an event's history
    # by instance (review times), and leases for jobs one process runs at a time (reconcile).
    (
        "ALTER TABLE events ADD COLUMN details TEXT",
        "ALTER TABLE events ADD COLUMN details_error TEXT",
        "CREATE INDEX events_instance ON events (instance_type, instance_id, pk)",
        """CREATE TABLE jobs (
            name TEXT PRIMARY KEY,
            lease_owner TEXT,
            lease_until DOUBLE PRECISION,
            last_run_at DOUBLE PRECISION,
            last_result TEXT
        )""",
    ),
    # 4: when a delivery was announced as stuck (alerts.stuck), so it is announced once.
    ("ALTER TABLE deliveries ADD COLUMN stuck_alerted_at DOUBLE PRECISION",),
    # 5: how the workflow run a delivery started went (GitHub's workflow_run webhooks),
    # found by run id.
    (
        "ALTER TABLE deliveries ADD COLUMN run_status TEXT",
        "ALTER TABLE deliveries ADD COLUMN run_conclusion TEXT",
        "ALTER TABLE deliveries ADD COLUMN run_attempt INTEGER",
        "ALTER TABLE deliveries ADD COLUMN run_updated_at DOUBLE PRECISION",
        "CREATE INDEX deliveries_run ON deliveries (run_id)",
    ),
    # 6: an instance's deliveries of one route go out in the order its events happened
    # (the provider's timestamp; when it sent none, when bridge received it).
    (
        "ALTER TABLE events ADD COLUMN occurred_at DOUBLE PRECISION",
        "UPDATE events SET occurred_at = received_at",
    ),
    # 7: how the credentials bridge uses are doing (GitHub, App Store Connect): when they were
    # last accepted, last refused and why, and when a GitHub token expires.
    (
        """CREATE TABLE credentials (
            name TEXT PRIMARY KEY,
            accepted_at DOUBLE PRECISION,
            refused_at DOUBLE PRECISION,
            refused_reason TEXT,
            expires_at DOUBLE PRECISION
        )""",
    ),
    # 8: as SQLite's.
    (
        """CREATE TABLE admin_sessions (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL
        )""",
        "INSERT INTO admin_sessions (id, generation) VALUES (1, 0)",
        """CREATE TABLE revoked_sessions (
            session_id TEXT PRIMARY KEY,
            revoked_at DOUBLE PRECISION NOT NULL
        )""",
    ),
    # 9: as SQLite's.
    (
        """CREATE TABLE github_sends (
            pk BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            credential TEXT NOT NULL,
            sent_at DOUBLE PRECISION NOT NULL,
            backlog BOOLEAN NOT NULL
        )""",
        "CREATE INDEX github_sends_sent ON github_sends (sent_at)",
        "CREATE INDEX deliveries_pending_created ON deliveries (created_at)"
        " WHERE state = 'pending'",
    ),
)
