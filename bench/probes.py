"""What /readyz, the delivery log's banner and /metrics add per call to learn whether App
Store Connect refuses the API key: ``store.latest_details_error()`` on 100,000 stored events,
SQLite and PostgreSQL. Run: ``.venv/bin/python bench/probes.py`` (loopback only).

Two shapes: no event ever asked for details (a deployment without enrichment: the query
reads the newest 1,000 events and finds nothing) and the newest event has details (found
at once).

Measured on a shared 2-core machine (median / p95 per call): SQLite 0.05 / 0.09 ms and
0.01 / 0.01 ms; PostgreSQL 0.33 / 2.25 ms and 0.13 / 0.22 ms.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.events import Event, Instance
from bridge.store import Details, Store, open_store
from tests.support.postgres import PostgresServer

EVENTS = 100_000
CALLS = 200


def fill(store: Store) -> None:
    body = b"{}"
    with store._tx() as cur:  # type: ignore[attr-defined]  # one transaction: setup only
        for n in range(EVENTS):
            event = Event(
                source="ios", provider="appstoreconnect", type="buildUploadStateUpdated",
                id=str(uuid.uuid4()), old_state=None, new_state="COMPLETE",
                instance=Instance("buildUploads", f"b{n}"), timestamp=None, payload={},
            )  # fmt: skip
            store._insert_event(cur, event, body, (), float(n))  # type: ignore[attr-defined]


def per_call_ms(store: Store) -> tuple[float, float]:
    samples = []
    for _ in range(CALLS):
        started = time.perf_counter()
        store.latest_details_error()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]


def measure(name: str, store: Store) -> None:
    fill(store)
    median, p95 = per_call_ms(store)
    shape = f"{EVENTS:,} events, none asked for details"
    print(f"{name}, {shape}: median {median:.2f} ms, p95 {p95:.2f} ms")
    [newest] = store.recent_events(limit=1)
    store.save_details(newest.source, newest.event_id, Details(error="refused"))
    median, p95 = per_call_ms(store)
    print(f"{name}, newest event has details: median {median:.2f} ms, p95 {p95:.2f} ms")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{folder}/bench.db")
        try:
            measure("SQLite", store)
        finally:
            store.close()
    pg = PostgresServer(durable=True)
    pg.init()
    pg.start()
    try:
        store = open_store(pg.create_database(), pool_size=2)
        try:
            measure("PostgreSQL", store)
        finally:
            store.close()
    finally:
        pg.stop()
        pg.cleanup()


if __name__ == "__main__":
    main()
