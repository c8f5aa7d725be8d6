"""Where an accepted webhook's CPU goes: bridge against the empty Flask app, per request.

Wall-clock throughput on a shared machine is noisy; CPU time per request is much less so.
Two measures, both on 127.0.0.1:

1. ``serve``: ``bridge serve`` (the production gunicorn config, SQLite, a fake GitHub) and
   the empty Flask app under the same gunicorn config, loaded at a fixed rate (or with wrk,
   ``--rate 0``); the CPU time (user, system) of every process of each server over the run,
   from /proc, divided by the requests answered, and their RSS.
2. ``split``: in this process, no HTTP and one thread: the empty Flask app and bridge's app
   called as WSGI applications with signed events, and the store's ``record_event`` alone,
   in CPU time per event: Flask's share, bridge's Python, the store's (SQL and fsync).

``python bench/profile_intake.py [--rate 400] [--seconds 10] [--no-dispatcher]``
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from bench.loadgen import LoadResult, Request, fixed_rate, saturation
from bench.run import bridge_requests

if TYPE_CHECKING:
    from flask import Flask

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (proc(5): utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def serve(name: str, server: harness.Process, requests: list[Request], args: Any) -> None:
    """Load ``server`` and print the CPU each of its processes spent per answered request."""
    url = server.url + "/webhooks/ios"
    fixed_rate(url, requests[:200], rate=200, seconds=1)  # warm up: connections, caches
    pids = server.pids()
    before = {pid: cpu_seconds(pid) for pid in pids}
    rest = requests[200:]
    result: LoadResult | None
    if args.rate:
        count = int(args.rate * args.seconds)
        result = fixed_rate(url, rest[:count], rate=args.rate, seconds=args.seconds)
    else:
        result = saturation(url, rest, seconds=args.seconds)
    if result is None:
        raise SystemExit("wrk is not installed (apt-get install wrk); use --rate")
    time.sleep(1)  # what the answered requests left to do (the dispatcher's attempts)
    answered = max(result.answered, 1)
    print(f"{name}: {result.throughput:.0f} req/s answered, {result.errors} errors")
    total = 0.0
    for pid in pids:
        user0, sys0 = before[pid]
        user1, sys1 = cpu_seconds(pid)
        user, system = (user1 - user0) * 1000 / answered, (sys1 - sys0) * 1000 / answered
        total += user + system
        print(
            f"  pid {pid}: {user + system:.3f} ms CPU per request (user {user:.3f}, system "
            f"{system:.3f}), RSS {harness.rss_mib(pid):.0f} MiB"
        )
    print(f"  all processes: {total:.3f} ms CPU per request")


def measure_serve(args: Any) -> None:
    work = Path(tempfile.mkdtemp(prefix="bridge-profile-"))
    github = harness.start_fake_github(work)
    needed = 200 + int((args.rate or 3000) * args.seconds)
    dispatcher = "1" if args.dispatcher else "0"
    try:
        env = harness.bridge_env(
            work, f"sqlite:///{work / 'intake.db'}", github.url, BRIDGE_DISPATCHER=dispatcher
        )
        first = harness.event_body(f"cold-{uuid.uuid4()}")
        bridge = harness.start_bridge(work, env, first_event=first)
        print(f"bridge: first 202 {time.monotonic() - bridge.started:.2f} s after start")
        try:
            label = "bridge, SQLite" + ("" if args.dispatcher else ", BRIDGE_DISPATCHER=0")
            serve(label, bridge, bridge_requests(needed, uuid.uuid4().hex[:8]), args)
        finally:
            bridge.stop()
        env = harness.bridge_env(work, "sqlite:///unused.db", github.url)
        empty = harness.start_empty_flask(work, env)
        try:
            serve(empty.name, empty, bridge_requests(needed, "e"), args)
        finally:
            empty.stop()
    finally:
        github.stop()


def _environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/ios", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "wsgi.version": (1, 0), "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json", "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_X_APPLE_SIGNATURE": "hmacsha256=" + harness.hex_hmac(body),
    }  # fmt: skip


def per_call(app: Flask, count: int) -> float:
    """CPU milliseconds per request of ``app`` called as a WSGI application (each 2xx)."""
    bodies = [harness.event_body(f"split-{uuid.uuid4().hex}") for _ in range(count)]
    statuses: list[str] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        statuses.append(status)
        return lambda data: None

    started = time.process_time()
    for body in bodies:
        answer = app(_environ(body), start_response)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
    spent = time.process_time() - started
    if not all(s.startswith("2") for s in statuses):
        raise SystemExit(f"unexpected answers: {sorted(set(statuses))}")
    return spent * 1000 / count


def measure_split(args: Any) -> None:
    from bench.empty_app import app as empty  # noqa: PLC0415
    from bridge.app import create_app  # noqa: PLC0415
    from bridge.services import current_services  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="bridge-split-"))
    env = harness.bridge_env(work, f"sqlite:///{work / 'split.db'}", "http://127.0.0.1:9")
    app = create_app({"run_dispatcher": False}, environ=env)
    with app.app_context():
        services = current_services()
        store = services.store
        record_event = store.record_event
        in_store = [0.0]

        def timed(*args: Any, **kwargs: Any) -> Any:  # the same call, its CPU time counted
            started = time.process_time()
            try:
                return record_event(*args, **kwargs)
            finally:
                in_store[0] += time.process_time() - started

        try:
            per_call(empty, 200), per_call(app, 200)  # warm up
            flask_ms = per_call(empty, args.calls)
            store.record_event = timed  # type: ignore[method-assign]
            bridge_ms = per_call(app, args.calls)
        finally:
            services.close()
    store_ms = in_store[0] * 1000 / args.calls
    print(f"one thread, no HTTP, {args.calls} events, CPU ms per event:")
    print(f"  empty Flask app: {flask_ms:.3f}")
    print(f"  bridge's app: {bridge_ms:.3f}, of which the store's record_event {store_ms:.3f}")
    print(f"  bridge's Python beyond Flask: {bridge_ms - flask_ms - store_ms:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=400, help="req/s; 0: wrk, 16 conn.")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--no-dispatcher", dest="dispatcher", action="store_false")
    parser.add_argument("--calls", type=int, default=3000, help="events in the split")
    parser.add_argument("--only", choices=["serve", "split"])
    args = parser.parse_args()
    if args.only != "split":
        measure_serve(args)
    if args.only != "serve":
        measure_split(args)


if __name__ == "__main__":
    main()
