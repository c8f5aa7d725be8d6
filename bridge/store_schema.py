"""The store's schema, as numbered migrations applied in order (same semantics on every
backend; SQL kept to the common subset of SQLite and PostgreSQL)."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
)
