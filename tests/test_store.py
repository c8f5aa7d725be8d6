"""The store contract, run against both backends: SQLite and a real PostgreSQL server."""

import ast
import sqlite3
import threading
import time
from pathlib import Path

import psycopg
import pytest

import bridge.store
from bridge.errors import ConfigError, StoreUnavailableError
from bridge.events import Event, Instance
from bridge.store import AttemptOutcome, AttemptResult, Details, Recorded, Store, open_store
from bridge.store.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS
from bridge.store.postgres import PostgresStore
from bridge.store.sqlite import SQLiteStore, sqlite_path
from tests.support.postgres import PostgresServer

EVENT = Event(
    "ios", "appstoreconnect", "buildUploadStateUpdated", "evt-1", "PROCESSING", "COMPLETE",
    Instance("buildUploads", "bu-1"), "2025-12-25T08:28:35Z", {"data": {"id": "evt-1"}},
)  # fmt: skip
BODY = b'{"data": {"id": "evt-1"}}'


def test_record_creates_one_delivery_per_route(store: Store) -> None:
    recorded = store.record_event(EVENT, BODY, ["a", "b"], now=100.0)
    assert not recorded.duplicate
    assert len(recorded.delivery_ids) == 2
    [record] = store.recent_events(limit=10)
    assert (record.source, record.event_id, record.new_state) == ("ios", "evt-1", "COMPLETE")
    assert [d.route for d in record.deliveries] == ["a", "b"]
    assert {d.state for d in record.deliveries} == {"pending"}


def test_duplicate_is_detected_and_stores_nothing(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    again = store.record_event(EVENT, BODY, ["a", "b"], now=101.0)
    assert again.duplicate
    assert again.delivery_ids == ()
    [record] = store.recent_events(limit=10)
    assert len(record.deliveries) == 1


@pytest.mark.parametrize("routes", [[], ["a"], ["a", "b", "c"]])
def test_record_returns_the_ids_of_the_deliveries_it_stored(
    store: Store, routes: list[str]
) -> None:
    recorded = store.record_event(EVENT, BODY, routes, now=100.0)
    [record] = store.events_by_id("evt-1")
    assert (record.event_id, recorded.duplicate) == ("evt-1", False)
    assert [(d.id, d.route) for d in record.deliveries] == list(
        zip(recorded.delivery_ids, routes, strict=True)
    )
    assert store.record_event(EVENT, BODY, routes, now=101.0) == Recorded(duplicate=True)
    assert len(store.events_by_id("evt-1")[0].deliveries) == len(routes)


def test_extend_leases_extends_only_the_leases_still_held(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a", "b", "c"], now=100.0)
    [lost] = store.claim_due(owner="w", now=100.0, lease=10, limit=1)
    kept, done = store.claim_due(owner="w", now=100.0, lease=1000, limit=2)
    [taken] = store.claim_due(owner="x", now=111.0, lease=60, limit=3)
    assert taken.delivery_id == lost.delivery_id
    store.finish(done.delivery_id, owner="w", result=AttemptResult("delivered", 100.0, 1.0))
    leases = [(c.delivery_id, "w") for c in (kept, lost, done)]
    assert store.extend_leases(leases, until=2000.0) == {kept.delivery_id}
    assert store.extend_leases([], until=2000.0) == set()

    def claimable(now: float) -> bool:
        claims = store.claim_due(owner="y", now=now, lease=1, limit=3)
        return kept.delivery_id in {c.delivery_id for c in claims}

    assert not claimable(1999.0)  # extended past its lease of 1000
    assert claimable(2001.0)


def test_finish_of_an_unknown_delivery_records_nothing(store: Store) -> None:
    result = AttemptResult("delivered", 1.0, 1.0)
    assert not store.finish("no-such-delivery", owner="w", result=result)


def test_same_id_in_another_source_is_not_a_duplicate(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    other = Event("android", "pgyer", "updateVersion", "evt-1")
    assert not store.record_event(other, b"{}", [], now=100.0).duplicate


def test_concurrent_identical_events_store_exactly_once(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(4)]  # as four processes would
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def deliver(s: Store) -> None:
        barrier.wait()
        results.append(s.record_event(EVENT, BODY, ["a"], now=1.0).duplicate)

    threads = [threading.Thread(target=deliver, args=(stores[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] + [True] * 7
    assert len(stores[0].recent_events(limit=5)[0].deliveries) == 1
    for s in stores:
        s.close()


def test_concurrent_claimers_never_share_a_delivery(store_url: str) -> None:
    setup = open_store(store_url)
    for n in range(60):
        event = Event("ios", "appstoreconnect", "t", f"evt-{n}", payload={})
        setup.record_event(event, b"{}", ["a", "b"], now=100.0)
    stores = [open_store(store_url) for _ in range(4)]
    claimed: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(i: int) -> None:
        barrier.wait()
        while batch := stores[i].claim_due(owner=f"w{i}", now=100.0, lease=60, limit=7):
            claimed[i].extend(c.delivery_id for c in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [d for ids in claimed for d in ids]
    assert len(every) == len(set(every)) == 120
    for s in [setup, *stores]:
        s.close()


def test_prune_deletes_only_old_finished_events(store: Store) -> None:
    def event(n: int) -> Event:
        return Event("ios", "appstoreconnect", "t", f"evt-{n}", payload={})

    finished: list[AttemptOutcome] = ["delivered", "failed", "dry_run"]
    for n, state in enumerate(finished):
        store.record_event(event(n), b"{}", ["a"], now=100.0)
        [claim] = store.claim_due(owner="w", now=100.0, lease=60, limit=1)
        store.finish(claim.delivery_id, owner="w", result=AttemptResult(state, 100.0, 1.0))
    store.record_event(event(3), b"{}", ["a"], now=100.0)  # old but pending
    store.record_event(event(9), b"{}", ["a"], now=900.0)  # new: kept whatever its state
    for claim in store.claim_due(owner="w", now=900.0, lease=60, limit=10):
        if claim.event.id == "evt-9":
            store.finish(
                claim.delivery_id, owner="w", result=AttemptResult("delivered", 900.0, 1.0)
            )

    assert store.prune(before=500.0) == 2  # delivered and dry run
    assert sorted(e.event_id for e in store.recent_events(limit=10)) == ["evt-1", "evt-3", "evt-9"]
    assert store.prune(before=500.0, include_failed=True) == 1
    assert sorted(e.event_id for e in store.recent_events(limit=10)) == ["evt-3", "evt-9"]
    assert store.prune(before=500.0, include_failed=True) == 0  # pending is never pruned


def test_claim_leases_and_reconstructs_the_event(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    [claim] = store.claim_due(owner="w1", now=100.0, lease=60, limit=10)
    assert claim.route == "a"
    assert claim.attempts == 0
    assert claim.event == EVENT
    assert claim.event.payload == {"data": {"id": "evt-1"}}
    assert store.claim_due(owner="w2", now=130.0, lease=60, limit=10) == []
    # The holder died: once the lease expires another dispatcher takes the delivery.
    [again] = store.claim_due(owner="w2", now=161.0, lease=60, limit=10)
    assert again.delivery_id == claim.delivery_id


def test_not_due_is_not_claimed(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    assert store.claim_due(owner="w", now=99.0, lease=60, limit=10) == []
    assert store.next_due_at() == 100.0


def test_finish_delivered(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    [claim] = store.claim_due(owner="w", now=100.0, lease=60, limit=1)
    ok = store.finish(
        claim.delivery_id, owner="w",
        result=AttemptResult("delivered", 100.0, 12.5, 200, "ok", {"path": "/x"}, run_id=7, run_url="u"),
    )  # fmt: skip
    assert ok
    [delivery] = store.recent_events(limit=1)[0].deliveries
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    assert (delivery.run_url, delivery.request, delivery.last_error) == ("u", {"path": "/x"}, None)
    assert store.next_due_at() is None
    assert store.claim_due(owner="w", now=1e12, lease=60, limit=10) == []


def test_retry_schedules_next_attempt(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    [claim] = store.claim_due(owner="w", now=100.0, lease=60, limit=1)
    store.finish(
        claim.delivery_id, owner="w",
        result=AttemptResult("retry", 100.0, 5.0, 502, "bad gateway", next_attempt_at=105.0),
    )  # fmt: skip
    assert store.next_due_at() == 105.0
    assert store.claim_due(owner="w", now=104.0, lease=60, limit=1) == []
    [again] = store.claim_due(owner="w", now=105.0, lease=60, limit=1)
    assert again.attempts == 1
    [delivery] = store.recent_events(limit=1)[0].deliveries
    assert (delivery.state, delivery.last_error) == ("pending", "bad gateway")


def test_finish_by_a_lease_loser_keeps_the_attempt_but_not_the_state(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    [claim] = store.claim_due(owner="old", now=100.0, lease=1, limit=1)
    store.claim_due(owner="new", now=200.0, lease=60, limit=1)
    assert not store.finish(
        claim.delivery_id, owner="old", result=AttemptResult("failed", 200.0, 1.0)
    )
    [delivery] = store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "pending"


def test_failed_then_requeue(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a", "b"], now=100.0)
    for claim in store.claim_due(owner="w", now=100.0, lease=60, limit=10):
        store.finish(
            claim.delivery_id, owner="w", result=AttemptResult("failed", 100.0, 1.0, 404, "nf")
        )
    assert store.requeue_failed(now=500.0) == 2
    claims = store.claim_due(owner="w", now=500.0, lease=60, limit=10)
    assert len(claims) == 2
    assert all(c.queued_at == 500.0 for c in claims)


def test_requeue_event_by_id_and_source(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    [claim] = store.claim_due(owner="w", now=100.0, lease=60, limit=1)
    store.finish(claim.delivery_id, owner="w", result=AttemptResult("delivered", 100.0, 1.0, 204))
    assert store.requeue_event("evt-1", source="other", now=200.0) == 0
    assert store.requeue_event("evt-1", source=None, now=200.0) == 1
    assert store.events_by_id("evt-1")[0].deliveries[0].state == "pending"


def test_survives_reopen(store_url: str) -> None:
    first = open_store(store_url)
    first.record_event(EVENT, BODY, ["a"], now=100.0)
    first.close()
    second = open_store(store_url)  # migrations are not applied twice
    assert second.migrate() == len(SQLITE_MIGRATIONS) == len(POSTGRES_MIGRATIONS)
    assert len(second.claim_due(owner="w", now=100.0, lease=60, limit=5)) == 1
    second.close()


def test_postgres_processes_starting_together_migrate_once(postgres_url: str) -> None:
    stores: list[Store] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        stores.append(open_store(postgres_url, pool_size=1))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stores) == 6
    with psycopg.connect(postgres_url) as conn:
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [v for (v,) in versions] == list(range(1, len(POSTGRES_MIGRATIONS) + 1))
    for s in stores:
        s.close()


def test_postgres_scheme_as_heroku_sets_it(postgres_url: str) -> None:
    store = open_store(postgres_url.replace("postgresql://", "postgres://", 1))
    assert isinstance(store, PostgresStore)
    store.ping()
    store.close()


def test_postgres_outage_is_store_unavailable_then_recovers(tmp_path: Path) -> None:
    server = PostgresServer()  # its own server: this test stops it
    server.init()
    server.start()
    try:
        store = PostgresStore(server.url(), pool_size=2, timeout=1.0)
        store.record_event(EVENT, BODY, ["a"], now=1.0)
        server.stop()
        with pytest.raises(StoreUnavailableError, match="PostgreSQL store"):
            store.record_event(EVENT, BODY, ["a"], now=2.0)
        server.start()
        # The pool replaces the dead connections (reconnecting with backoff); nothing recorded
        # before the outage was lost.
        deadline = time.monotonic() + 30
        while True:
            try:
                recorded = store.record_event(EVENT, BODY, ["a"], now=3.0)
                break
            except StoreUnavailableError:
                assert time.monotonic() < deadline, "the pool did not recover within 30 s"
        assert recorded.duplicate
        assert len(store.claim_due(owner="w", now=3.0, lease=60, limit=5)) == 1
        store.close()
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    ("query", "reason"),
    [("?sslmode=nonsense", 'invalid sslmode value: "nonsense"'), ("", "Connection refused")],
)
def test_postgres_connection_errors_say_why_without_the_password(query: str, reason: str) -> None:
    with pytest.raises(StoreUnavailableError) as caught:
        open_store(f"postgres://u:hunter2@127.0.0.1:1/db{query}")
    assert reason in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_unreachable_database_is_store_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(str(tmp_path / "b.db"))
    store.close()  # the next call opens a new connection
    for name in ("b.db", "b.db-wal", "b.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "b.db").mkdir()  # the path is now a directory: SQLite cannot open it
    with pytest.raises(StoreUnavailableError, match="unable to open"):
        store.ping()
    with pytest.raises(StoreUnavailableError):
        store.record_event(EVENT, BODY, ["a"], now=1.0)


@pytest.mark.parametrize(
    ("url", "path"),
    [("sqlite:///bridge.db", "bridge.db"), ("sqlite:////var/lib/b.db", "/var/lib/b.db"),
     ("sqlite:///data/x.db", "data/x.db")],
)  # fmt: skip
def test_sqlite_path(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    ("url", "message"),
    [("sqlite:///", "file path"), ("sqlite:///:memory:", "file path"),
     ("mysql://x", "unsupported scheme 'mysql'")],
)  # fmt: skip
def test_unsupported_urls(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(url)


def test_sqlite_waits_for_another_processs_write_lock(tmp_path: Path) -> None:
    import sqlite3

    store = SQLiteStore(str(tmp_path / "b.db"), busy_timeout=0.5)
    other = sqlite3.connect(str(tmp_path / "b.db"), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # as another process's writer would
    threading.Timer(0.1, other.commit).start()
    t0 = time.monotonic()
    assert not store.record_event(EVENT, BODY, ["a"], now=1.0).duplicate
    waited = time.monotonic() - t0
    assert 0.09 < waited < 0.4  # got the lock soon after it was released

    other.execute("BEGIN IMMEDIATE")  # now held for longer than busy_timeout
    with pytest.raises(StoreUnavailableError, match="locked"):
        store.record_event(EVENT, BODY, ["b"], now=2.0)
    other.rollback()
    other.close()
    assert store.record_event(EVENT, BODY, ["a"], now=3.0).duplicate  # and it still works
    store.close()


def test_details_are_stored_with_the_event_and_claimed_with_it(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    assert store.details("ios", "evt-1") is None
    [claim] = store.claim_due(owner="w", now=100.0, lease=30.0, limit=10)
    assert claim.details is None  # not fetched yet
    found = {"type": "buildUploads", "attributes": {"cfBundleVersion": "3", "ok": True}}
    store.save_details("ios", "evt-1", Details(data=found))
    assert store.details("ios", "evt-1") == Details(data=found)
    [claim] = store.claim_due(owner="w", now=131.0, lease=30.0, limit=10)  # the lease ran out
    assert claim.details == Details(data=found)
    # Another process fetched too: the first answer stays, so every route sends the same.
    assert store.save_details("ios", "evt-1", Details(error="503")) == Details(data=found)
    assert store.details("ios", "evt-1") == Details(data=found)
    detail = store.event_detail("ios", "evt-1")
    assert detail is not None and detail.details == Details(data=found)


def test_replaying_asks_again_for_details_that_could_not_be_had(store: Store) -> None:
    store.record_event(EVENT, BODY, ["a"], now=100.0)
    gone = Details(error="401 NOT_AUTHORIZED")
    assert store.save_details("ios", "evt-1", gone) == gone
    assert store.requeue_event("evt-1", source=None, now=200.0) == 1
    assert store.details("ios", "evt-1") is None  # fetched again by the replayed delivery
    found = Details(data={"attributes": {"cfBundleVersion": "3"}})
    assert store.save_details("ios", "evt-1", found) == found
    assert store.requeue_event("evt-1", source=None, now=300.0) == 1
    assert store.details("ios", "evt-1") == found  # what was had is kept


def test_instance_history_in_received_order(store: Store) -> None:
    for n, state in enumerate(("WAITING_FOR_REVIEW", "IN_REVIEW", "REJECTED")):
        event = Event(
            "ios", "appstoreconnect", "appStoreVersionAppVersionStateUpdated", f"v-{n}",
            None, state, Instance("appStoreVersions", "ver-1"), f"2025-12-1{n}T00:00:00Z",
        )  # fmt: skip
        store.record_event(event, b"{}", [], now=100.0 + n)
    other = Event(
        "ios", "appstoreconnect", "x", "o-1", None, "S", Instance("appStoreVersions", "2")
    )
    store.record_event(other, b"{}", [], now=200.0)
    history = store.instance_history("appStoreVersions", "ver-1")
    assert [(c.new_state, c.timestamp, c.received_at) for c in history] == [
        ("WAITING_FOR_REVIEW", "2025-12-10T00:00:00Z", 100.0),
        ("IN_REVIEW", "2025-12-11T00:00:00Z", 101.0),
        ("REJECTED", "2025-12-12T00:00:00Z", 102.0),
    ]
    assert [c.event_id for c in history] == ["v-0", "v-1", "v-2"]
    assert store.instance_history("appStoreVersions", "nope") == []
    [record] = store.events_by_id("v-1")
    assert (record.instance_type, record.instance_id) == ("appStoreVersions", "ver-1")


def test_a_job_lease_has_one_holder_and_waits_for_its_interval(store_url: str) -> None:
    stores = [open_store(store_url) for _ in range(4)]  # as four processes would
    try:
        won: list[int] = []
        barrier = threading.Barrier(4)

        def take(n: int) -> None:
            barrier.wait()
            if stores[n].lease_job("reconcile", owner=f"p{n}", now=1000.0, every=300.0):
                won.append(n)

        threads = [threading.Thread(target=take, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1
        holder = won[0]
        other = stores[(holder + 1) % 4]
        stores[holder].finish_job("reconcile", owner=f"p{holder}", now=1010.0, result="ok")
        assert not other.lease_job("reconcile", owner="late", now=1200.0, every=300.0)  # not due
        assert other.lease_job("reconcile", owner="late", now=1300.0, every=300.0)
        # A holder that died: its lease expires, the job runs elsewhere.
        assert not other.lease_job("reconcile", owner="x", now=1700.0, every=300.0)
        assert other.lease_job("reconcile", owner="x", now=1300.0 + 601.0, every=300.0)
    finally:
        for s in stores:
            s.close()


def test_sqlite_group_commit_stores_a_batch_and_fails_only_the_bad_event(tmp_path: Path) -> None:
    """Events arriving while a write is in progress are committed together; a duplicate in
    the batch is detected, and an insert that fails fails only its own request."""
    store = SQLiteStore(str(tmp_path / "group.db"))
    results: dict[str, object] = {}

    def record(event_id: str, routes: list[object]) -> None:
        event = Event("ios", "appstoreconnect", "t", event_id)
        try:
            results[f"{event_id}/{len(results)}"] = store.record_event(
                event,
                b"{}",
                routes,  # type: ignore[arg-type]
                now=1.0,
            )
        except Exception as exc:
            results[f"{event_id}/error"] = exc

    calls = [(f"e-{n}", ["a"]) for n in range(12)] + [("e-0", ["a"]), ("bad", [object()])]
    store._write_lock.acquire()  # a write in progress: every call below queues behind it
    threads = [threading.Thread(target=record, args=call) for call in calls]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while len(store._queue) < len(calls) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert len(store._queue) == len(calls)
    store._write_lock.release()
    for t in threads:
        t.join(5)
    assert store._queue == []
    assert isinstance(results.pop("bad/error"), sqlite3.Error)
    recorded = list(results.values())
    assert sum(r.duplicate for r in recorded) == 1  # type: ignore[attr-defined]
    stored = {e.event_id for e in store.recent_events(limit=100)}
    assert stored == {f"e-{n}" for n in range(12)}
    assert sum(len(e.deliveries) for e in store.recent_events(limit=100)) == 12
    store.close()


def test_sqlite_writes_of_every_thread_share_one_durable_connection(tmp_path: Path) -> None:
    """Writes from many threads go through one connection (its page cache survives from one
    write to the next), which commits with synchronous=FULL (fsync before returning) and keeps
    savepoint journals in memory instead of temporary files."""
    store = SQLiteStore(str(tmp_path / "one.db"))
    try:

        def write(n: int) -> None:
            event = Event("ios", "appstoreconnect", "t", f"e-{n}")
            store.record_event(event, b"{}", ["a"], now=1.0)
            store.claim_due(owner=f"o-{n}", now=2.0, lease=60.0, limit=1)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert len(store._connections) == 1  # one writer, and no thread read anything
        assert len(store.recent_events(limit=10)) == 6  # read on this thread's connection
        assert len(store._connections) == 2
        for conn in store._connections:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY
    finally:
        store.close()


def test_sqlite_a_write_whose_commit_fails_leaves_the_next_writes_working(
    tmp_path: Path,
) -> None:
    """A COMMIT refused (here a deferred foreign key; in production a full disk) is rolled
    back: the process's one write connection is not left inside a transaction."""
    store = SQLiteStore(str(tmp_path / "refused.db"))
    try:
        with store._tx() as cur:
            cur.execute(
                "CREATE TABLE notes (event_pk INTEGER"
                " REFERENCES events (pk) DEFERRABLE INITIALLY DEFERRED)"
            )
        with pytest.raises(sqlite3.IntegrityError), store._tx() as cur:
            cur.execute("INSERT INTO notes VALUES (424242)")  # checked only at COMMIT
        assert not store.record_event(EVENT, BODY, ["a"], now=1.0).duplicate
        assert store.claim_due(owner="o", now=2.0, lease=60.0, limit=1)
    finally:
        store.close()


def test_store_modules_import_only_each_other_and_the_shared_kernel() -> None:
    """``bridge.store`` imports its backends at its top, which holds only while no module of
    the package imports the package itself (a cycle) or other parts of bridge but the shared
    kernel."""
    # bridge.github_limits: GitHub's limits and the pacing budget, pure (imports bridge.errors).
    allowed = {"bridge.events", "bridge.errors", "bridge.github_limits"}
    wrong: list[str] = []
    for path in sorted(Path(bridge.store.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                inside = name.startswith("bridge.store.") or name in allowed
                if (name == "bridge" or name.startswith((".", "bridge."))) and not inside:
                    wrong.append(f"{path.name}: {name}")
    assert wrong == []
