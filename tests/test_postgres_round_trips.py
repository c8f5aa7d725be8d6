"""What PostgreSQL costs bridge in network waits: one round trip per event stored, per attempt
recorded and per lease extension (docs/architecture.md, "What a commit costs"), counted by a
proxy between the real store and a real server; and a pooled connection the server closed is
replaced before a request uses it, without a ping on every checkout."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from bridge.events import Event, Instance
from bridge.store import AttemptResult, open_store
from bridge.store.postgres import PostgresStore
from tests.support.app import close_app, make_app
from tests.support.postgres import PostgresServer
from tests.support.samples import sample, signed
from tests.support.servers import Server, process_env
from tests.support.tcp_proxy import CountingProxy


def _event(n: int) -> Event:
    return Event(
        "ios", "appstoreconnect", "buildUploadStateUpdated", f"evt-{n}", "PROCESSING",
        "COMPLETE", Instance("buildUploads", f"bu-{n}"), None, {"n": n},
    )  # fmt: skip


def _via(url: str, proxy: CountingProxy) -> str:
    port = urlsplit(url).port
    return url.replace(f":{port}/", f":{proxy.port}/")


def test_each_event_attempt_and_lease_extension_is_one_round_trip(postgres_url: str) -> None:
    with CountingProxy(urlsplit(postgres_url).port or 5432) as proxy:
        store = open_store(_via(postgres_url, proxy), pool_size=1)
        try:
            # The pool's connection is up, and psycopg has prepared the statement (a round
            # trip, once per connection, at its prepare_threshold-th execution).
            for n in range(-6, 0):
                store.record_event(_event(n), b"{}", ["a"], now=100.0)
            before = proxy.round_trips
            routes = [[], ["a"], ["a", "b", "c"]]
            for n in range(1, 31):
                recorded = store.record_event(_event(n), b"{}", routes[n % 3], now=100.0)
                assert not recorded.duplicate and len(recorded.delivery_ids) == len(routes[n % 3])
            assert store.record_event(_event(1), b"{}", ["a"], now=100.0).duplicate
            assert proxy.round_trips - before == 31

            claims = store.claim_due(owner="w", now=100.0, lease=60, limit=3)
            before = proxy.round_trips
            held = store.extend_leases([(c.delivery_id, "w") for c in claims], until=200.0)
            assert held == {c.delivery_id for c in claims}
            assert proxy.round_trips - before == 1
            for claim in claims:
                done = AttemptResult("delivered", 100.0, 1.0, 204)
                assert store.finish(claim.delivery_id, owner="w", result=done)
            assert proxy.round_trips - before == 1 + len(claims)
        finally:
            store.close()


def _wait_for_connections(proxy: CountingProxy, count: int) -> None:
    deadline = time.monotonic() + 10
    while proxy.connections < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.connections == count


def test_warm_connections_are_open_before_they_are_needed(postgres_url: str) -> None:
    with CountingProxy(urlsplit(postgres_url).port or 5432) as proxy:
        store = open_store(_via(postgres_url, proxy), pool_size=6, warm=3)
        try:
            _wait_for_connections(proxy, 1 + 3)  # the check of DATABASE_URL, then the pool's

            def intake(worker: int) -> None:
                for n in range(10):
                    store.record_event(_event(worker * 100 + n), b"{}", ["a"], now=1.0)

            threads = [threading.Thread(target=intake, args=(w,)) for w in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert proxy.connections == 4  # three at a time never waited for a new one
        finally:
            store.close()


def test_a_server_that_takes_fewer_connections_than_asked_to_keep_open_is_still_used(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"limited_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 2")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    url = postgres_server.url(name).replace(f"{postgres_server.superuser}@", f"{name}@")
    store = PostgresStore(url, pool_size=4, warm=4, timeout=1.0)
    try:
        assert not store.record_event(_event(1), b"{}", ["a"], now=1.0).duplicate
        assert "connections to keep open were asked for" in caplog.text
    finally:
        store.close()


def test_a_web_process_keeps_a_connection_per_request_thread_and_its_dispatcher(
    postgres_url: str, tmp_path: Path
) -> None:
    with CountingProxy(urlsplit(postgres_url).port or 5432) as proxy:
        app = make_app(tmp_path, DATABASE_URL=_via(postgres_url, proxy), GUNICORN_THREADS="2")
        try:
            _wait_for_connections(proxy, 1 + 3)
            time.sleep(0.2)
            assert proxy.connections == 4
        finally:
            close_app(app)


def test_a_connection_the_server_closed_is_replaced_before_a_request_uses_it(
    environ: dict[str, str], tmp_path: Path
) -> None:
    """PostgreSQL restarted between two webhooks: the pooled connection is dead, found out
    at checkout (no ping), and the webhook is stored on a new one: 202, not 503."""
    pg = PostgresServer()  # its own server: this test restarts it
    pg.init()
    pg.start()
    env = process_env(environ, DATABASE_URL=pg.url(), WEB_CONCURRENCY="1")
    server = Server(env, tmp_path / "server.log").start()
    try:
        payload = json.loads(sample("appstoreconnect/build-upload-complete.json"))
        for n in range(6):
            if n == 3:
                pg.restart()
            payload["data"]["id"] = f"evt-restart-{n}"
            body = json.dumps(payload).encode()
            status, answer = server.post("/webhooks/ios", body, signed(body))
            assert (status, answer.get("routes")) == (202, ["build-complete"]), answer
    finally:
        server.stop()
        pg.cleanup()


def test_over_tls_a_pooled_connection_is_neither_pinged_nor_taken_for_dead() -> None:
    """Hosted PostgreSQL is reached over TLS (``sslmode=require``): an idle TLS connection
    has nothing waiting on its socket either, so it is used without a ping and kept; after a
    restart the dead ones are still found out."""
    pg = PostgresServer(tls=True)  # its own server: this test restarts it
    pg.init()
    pg.start()
    try:
        with CountingProxy(pg.port) as proxy:
            store = open_store(_via(pg.url(), proxy) + "?sslmode=require", pool_size=2, warm=2)
            try:
                _wait_for_connections(proxy, 1 + 2)
                for n in range(-12, 0):  # psycopg prepares the statement on each connection
                    store.record_event(_event(n), b"{}", ["a"], now=1.0)
                before = proxy.round_trips
                for n in range(20):
                    store.record_event(_event(n), b"{}", ["a"], now=1.0)
                assert (proxy.round_trips - before, proxy.connections) == (20, 3)
                pg.restart()
                assert not store.record_event(_event(99), b"{}", ["a"], now=1.0).duplicate
            finally:
                store.close()
    finally:
        pg.cleanup()
