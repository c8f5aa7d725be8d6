"""What an accepted event costs on PostgreSQL, in counts rather than wall-clock time (which a
shared machine makes noisy): ``python bench/pg_costs.py [--rate 100] [--events 300]
[--web-only] [--statements]``.

``bridge serve`` (the production gunicorn config) on a durable PostgreSQL
(tests/support/postgres.py, fsync on) reached through a proxy that counts round trips
(tests/support/tcp_proxy.py); events offered at a fixed rate, one route each, dispatched to a
fake GitHub unless ``--web-only``. Per accepted event, once every delivery is delivered:
round trips, WAL flushes (``pg_stat_wal``), CPU of bridge's processes and of PostgreSQL's
(``/proc/<pid>/stat``). ``--statements``: the statements by total time
(``pg_stat_statements``). Numbers for docs/architecture.md, "What a commit costs".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from bench import harness
from bench.loadgen import fixed_rate
from tests.support.postgres import PostgresServer
from tests.support.tcp_proxy import CountingProxy

STATEMENTS = (
    "SELECT calls, round(total_exec_time::numeric / calls, 3) AS ms_each,"
    " round(total_exec_time::numeric, 1) AS ms_total, left(regexp_replace(query, '\\s+', ' ', 'g'),"
    " 90) AS query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
    " WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT 10"
)


def signed(event_id: str) -> tuple[bytes, dict[str, str]]:
    body = harness.event_body(event_id, f"u-{event_id}")  # each its own build upload
    return body, {"X-Apple-Signature": "hmacsha256=" + harness.hex_hmac(body)}


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it has exited
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "postgres":
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def wal(url: str) -> tuple[int, float]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
    assert row is not None
    return int(row[0]), float(row[1])


def pending(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()
    return int(row[0]) if row else 0


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    pg = PostgresServer(durable=True)
    pg.init()
    _start_with_statistics(pg)
    github = harness.start_fake_github(work)
    try:
        url = pg.create_database()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        with CountingProxy(pg.port) as proxy:
            via = url.replace(f":{pg.port}/", f":{proxy.port}/")
            env = harness.bridge_env(
                work, via, github.url, BRIDGE_DISPATCHER="0" if args.web_only else "1"
            )
            server = harness.start_bridge(work, env)
            try:
                requests = [signed(f"cost-{uuid.uuid4().hex}") for _ in range(args.events)]
                trips, flushes, flush_ms = proxy.round_trips, *wal(url)
                bridge_cpu, pg_cpu = cpu_seconds(server.pids()), cpu_seconds(postgres_pids())
                load = fixed_rate(
                    server.url + "/webhooks/ios", requests, rate=args.rate,
                    seconds=args.events / args.rate,
                )  # fmt: skip
                deadline = time.monotonic() + 120
                while not args.web_only and pending(url) and time.monotonic() < deadline:
                    time.sleep(0.2)
                left = 0 if args.web_only else pending(url)
                n = load.answered
                flushes2, flush_ms2 = wal(url)
                flush_ms_each = (flush_ms2 - flush_ms) / max(1, flushes2 - flushes)
                result: dict[str, Any] = {
                    "rate": args.rate, "events": n, "errors": load.errors,
                    "dispatching": not args.web_only, "left_pending": left,
                    "round_trips": round((proxy.round_trips - trips) / n, 2),
                    "wal_flushes": round((flushes2 - flushes) / n, 2),
                    "ms_per_wal_flush": round(flush_ms_each, 3),
                    "bridge_cpu_ms": round((cpu_seconds(server.pids()) - bridge_cpu) * 1000 / n, 2),
                    "postgres_cpu_ms": round((cpu_seconds(postgres_pids()) - pg_cpu) * 1000 / n, 2),
                }  # fmt: skip
            finally:
                server.stop()
        if args.statements:
            with psycopg.connect(url, autocommit=True) as conn:
                rows = conn.execute(STATEMENTS)
                result["statements"] = [" | ".join(map(str, row)) for row in rows]
        return result
    finally:
        github.stop()
        pg.cleanup()


def _start_with_statistics(pg: PostgresServer) -> None:
    """Start ``pg`` with pg_stat_statements loaded and WAL flushes timed."""
    conf = pg.data / "postgresql.conf"
    with conf.open("a") as out:
        out.write("shared_preload_libraries = 'pg_stat_statements'\ntrack_wal_io_timing = on\n")
    pg.start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100, help="events offered per second")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--web-only", action="store_true", help="BRIDGE_DISPATCHER=0")
    parser.add_argument("--statements", action="store_true", help="pg_stat_statements too")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bridge-pg-costs-"))
    print(json.dumps(measure(args, work), indent=2))


if __name__ == "__main__":
    main()
