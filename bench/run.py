"""bridge's benchmarks, side by side with adnanh/webhook and with polling: ``make bench``.

1. Intake: fixed rates (open loop) and saturation (wrk), bridge on SQLite and on PostgreSQL
   (the production gunicorn config, dispatching to a fake GitHub meanwhile) vs adnanh/webhook
   with the equivalent HMAC-SHA256 rule running ``/bin/true``.
2. Event → GitHub latency: webhook sent → dispatch arriving at the fake GitHub, without and
   with enrichment from a fake App Store Connect.
3. Backlog drain (bench/drain.py): 10,000 deliveries left by an outage while a fresh webhook
   arrives every second, against a fake GitHub enforcing GitHub's secondary limits (80 a
   minute, 500 an hour); then the raw drain rate with pacing raised, GitHub answering in 50 ms.
4. Footprint: RSS per process at idle and under load, cold start to the first 202.
5. Slow clients: 500 connections trickling their headers or body while signed webhooks
   arrive at a fixed rate: bridge's worker, gunicorn's stock gthread and gevent workers
   (gevent when installed: ``pip install -e '.[bench]'``), adnanh/webhook.

Writes ``bench/RESULTS.md``. Loopback only. ``--quick`` for a short smoke run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import drain as backlog_drain
from bench import harness
from bench.loadgen import LoadResult, Request, fixed_rate, saturation
from bench.results import AT_ONCE, PG, SQLITE, Footprint, Results, SlowRun, write
from bench.slowclients import slow_clients
from tests.fakes.appstoreconnect import FakeAppStoreConnect, generate_asc_key
from tests.fakes.github import FakeGitHub
from tests.support.postgres import PostgresServer

WEB_ONLY = "bridge, PostgreSQL, web only (dispatch in a worker dyno)"


def bridge_requests(n: int, prefix: str, *, instance: str | None = None) -> list[Request]:
    """``n`` signed events, each about its own build upload unless ``instance`` is given (a
    release produces a few events per build, not a stream about one: deliveries about one
    instance go out one at a time, in order)."""
    out = []
    for i in range(n):
        body = harness.event_body(f"{prefix}-{i}", instance or f"u-{prefix}-{i}")
        out.append((body, {"X-Apple-Signature": "hmacsha256=" + harness.hex_hmac(body)}))
    return out


def adnanh_requests(n: int) -> list[Request]:
    out = []
    for i in range(n):
        body = harness.event_body(f"adnanh-{i}", f"u-adnanh-{i}")
        out.append((body, {"X-Hub-Signature-256": "sha256=" + harness.hex_hmac(body)}))
    return out


class RssSampler(threading.Thread):
    """Highest RSS of each process of a server while it runs under load."""

    def __init__(self, server: harness.Process) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.2):
            for pid in self.server.pids():
                with contextlib.suppress(OSError):  # a process that just exited
                    self.peak[pid] = max(self.peak.get(pid, 0.0), harness.rss_mib(pid))


def load(
    name: str, server: harness.Process, path: str, requests: list[Request], args: argparse.Namespace
) -> tuple[list[LoadResult], Footprint]:
    idle = {pid: harness.rss_mib(pid) for pid in server.pids()}
    sampler = RssSampler(server)
    sampler.start()
    results = []
    offset = 0
    for rate in args.rates:
        count = int(rate * args.seconds)
        chunk = requests[offset : offset + count]
        offset += count
        print(f"{name}: {rate} req/s for {args.seconds} s", flush=True)
        results.append(fixed_rate(server.url + path, chunk, rate=rate, seconds=args.seconds))
        time.sleep(1)
    print(f"{name}: saturation (wrk) for {args.saturation} s", flush=True)
    if saturated := saturation(server.url + path, requests[offset:], seconds=args.saturation):
        results.append(saturated)
    sampler.stop.set()
    sampler.join()
    footprint = Footprint(
        idle_mib=sorted(idle.values()), load_mib=sorted(sampler.peak.values()), cold_start=0.0
    )
    return results, footprint


def intake(args: argparse.Namespace, work: Path, results: Results) -> None:
    """Every server in turn, ``args.rounds`` times over (alternating, so a noisy minute of the
    machine hurts one round of each, not all of one server); each figure is the best of its
    rounds (bench/results.py ``best``)."""
    needed = int(sum(args.rates) * args.seconds + 1200 * args.saturation)
    github = harness.start_fake_github(work)
    pg = PostgresServer(durable=True)
    pg.init()
    pg.start()
    try:
        for round_ in range(1, args.rounds + 1):
            print(f"intake: round {round_} of {args.rounds}", flush=True)
            _intake_round(args, work, results, github.url, pg, needed)
    finally:
        github.stop()
        pg.cleanup()


def _intake_round(
    args: argparse.Namespace,
    work: Path,
    results: Results,
    github_url: str,
    pg: PostgresServer,
    needed: int,
) -> None:
    def sqlite() -> str:
        return f"sqlite:///{work / f'intake-{uuid.uuid4().hex[:8]}.db'}"

    # As shipped, one credential's dispatches are paced below GitHub's limits (72 a minute):
    # under these loads most deliveries wait. "At once": pacing raised, every event is
    # dispatched as it comes, the dispatcher's claims and finishes competing with intake.
    for name, url, paced, extra in (
        (SQLITE, sqlite(), True, {}),
        (SQLITE + AT_ONCE, sqlite(), False, {}),
        (PG, pg.create_database(), True, {}),
        (PG + AT_ONCE, pg.create_database(), False, {}),
        # A Heroku/Render web dyno with BRIDGE_DISPATCHER=0 beside a worker dyno running
        # `bridge worker`: the web processes only take events in (the deliveries wait).
        (WEB_ONLY, pg.create_database(), True, {"BRIDGE_DISPATCHER": "0"}),
    ):
        env = harness.bridge_env(work, url, github_url, paced=paced, **extra)
        first = harness.event_body(f"cold-{uuid.uuid4()}")
        server = harness.start_bridge(work, env, first_event=first)
        requests = bridge_requests(needed, uuid.uuid4().hex[:8])
        measure(name, server, "/webhooks/ios", requests, args, results)
    env = harness.bridge_env(work, "sqlite:///unused.db", github_url)
    empty = harness.start_empty_flask(work, env)
    measure(empty.name, empty, "/webhooks/ios", bridge_requests(needed, "e"), args, results)
    adnanh = harness.start_adnanh(work)
    if adnanh is None:
        print("adnanh/webhook not installed (apt-get install webhook): skipped", flush=True)
        return
    measure(adnanh.name, adnanh, "/hooks/ios", adnanh_requests(needed), args, results)


def measure(
    name: str,
    server: harness.Process,
    path: str,
    requests: list[Request],
    args: argparse.Namespace,
    results: Results,
) -> None:
    """Load a started server (then stop it) and record one round of its figures under
    ``name``."""
    cold = time.monotonic() - server.started
    try:
        runs, footprint = load(name, server, path, requests, args)
    finally:
        server.stop()
    footprint.cold_start = cold
    results.add_round(name, runs, footprint)


def end_to_end(args: argparse.Namespace, work: Path, results: Results) -> None:
    """Sequential events; the fake GitHub runs in this process to timestamp arrivals. Then
    the same with enrichment, against a fake App Store Connect that verifies every token."""
    import logging  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per dispatch
    with FakeGitHub() as github:
        env = harness.bridge_env(work, f"sqlite:///{work / 'e2e.db'}", github.url)
        results.e2e_ms += _event_to_dispatch(args.e2e, env, work, github)
    key = generate_asc_key()
    with FakeGitHub() as github, FakeAppStoreConnect(key) as asc:
        resource = json.loads(harness.UPLOAD_RESOURCE)
        asc.add_resource(resource)
        env = harness.bridge_env(
            work, f"sqlite:///{work / 'e2e-enriched.db'}", github.url,
            routes=harness.ENRICHED_ROUTES, ASC_KEY_ID=key.key_id, ASC_ISSUER_ID=key.issuer_id,
            ASC_PRIVATE_KEY=key.private_pem, ASC_API_URL=asc.url,
        )  # fmt: skip
        results.e2e_enriched_ms += _event_to_dispatch(args.e2e, env, work, github)
        if asc.auth_failures or len(asc.requests) != args.e2e:
            raise SystemExit(f"enrichment did not happen as expected: {asc.auth_failures}")


def _event_to_dispatch(n: int, env: dict[str, str], work: Path, github: FakeGitHub) -> list[float]:
    import http.client  # noqa: PLC0415

    samples = []
    server = harness.start_bridge(work, env)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        requests = bridge_requests(n, uuid.uuid4().hex, instance="b-1")  # the enriched upload
        for i, (body, headers) in enumerate(requests):
            t0 = time.monotonic()
            conn.request("POST", "/webhooks/ios", body=body, headers=headers)
            conn.getresponse().read()
            arrived = github.wait_for_dispatches(i + 1, timeout=30)[i]
            samples.append((arrived.at - t0) * 1000)
        conn.close()
    finally:
        server.stop()
    return samples


def drain(args: argparse.Namespace, work: Path, results: Results) -> None:
    """Section 3 (bench/drain.py): a backlog paced to GitHub's limits while fresh events
    arrive, then the raw drain rate with pacing raised."""
    results.paced_drain = backlog_drain.paced(args, work)
    results.drain = backlog_drain.raw(args, work)


def slow(args: argparse.Namespace, work: Path, results: Results) -> None:
    """Section 5: the same slow-client load against each server, one at a time."""
    import importlib.util  # noqa: PLC0415

    github = harness.start_fake_github(work)
    needed = int(args.slow_rate * args.slow_seconds) + 10
    kinds = ["bridge.gunicorn_worker", "gthread"]
    if importlib.util.find_spec("gevent") is not None:
        kinds.append("gevent")
    else:
        print("gevent not installed (pip install -e '.[bench]'): skipped", flush=True)
    try:
        for kind in kinds:
            env = harness.bridge_env(work, f"sqlite:///{work / f'slow-{kind}.db'}", github.url)
            if kind == "bridge.gunicorn_worker":
                server = harness.start_bridge(work, env)
                server.name = "bridge, production config (bridge.gunicorn_worker)"
            else:
                server = harness.start_bridge_worker_class(work, env, kind)
            requests = bridge_requests(needed, uuid.uuid4().hex[:8])
            _slow_run(server, "/webhooks/ios", requests, None, args, results)
        adnanh = harness.start_adnanh(work)
        if adnanh is None:
            print("adnanh/webhook not installed (apt-get install webhook): skipped", flush=True)
            return
        _slow_run(adnanh, "/hooks/ios", adnanh_requests(needed), "/hooks/ios", args, results)
    finally:
        github.stop()


def _slow_run(
    server: harness.Process,
    path: str,
    requests: list[Request],
    body_path: str | None,
    args: argparse.Namespace,
    results: Results,
) -> None:
    print(f"{server.name}: {args.slow} slow connections, {args.slow_rate} webhooks/s "
          f"for {args.slow_seconds} s", flush=True)  # fmt: skip
    sampler = RssSampler(server)
    sampler.start()
    try:
        run = slow_clients(server.url, path, requests, slow=args.slow, rate=args.slow_rate,
                           seconds=args.slow_seconds, body_path=body_path,
                           probe_path="/" if body_path else "/healthz")  # fmt: skip
    finally:
        sampler.stop.set()
        sampler.join()
        server.stop()
    results.slow[server.name] = SlowRun(run, sorted(sampler.peak.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 300])
    parser.add_argument("--rounds", type=int, default=2, help="intake: best of N alternating")
    parser.add_argument("--seconds", type=float, default=10, help="per fixed rate")
    parser.add_argument("--saturation", type=float, default=10, help="seconds of wrk")
    parser.add_argument("--e2e", type=int, default=200, help="event → GitHub samples")
    parser.add_argument("--drain", type=int, default=10_000, help="backlog, paced run")
    parser.add_argument("--drain-seconds", type=float, default=120, help="paced run length")
    parser.add_argument("--raw-drain", type=int, default=2_000, help="backlog, raw drain")
    parser.add_argument("--slow", type=int, default=500, help="slow connections held open")
    parser.add_argument("--slow-rate", type=float, default=20, help="webhooks/s meanwhile")
    parser.add_argument("--slow-seconds", type=float, default=20)
    sections = ["intake", "e2e", "drain", "slow"]
    parser.add_argument("--only", nargs="+", default=sections, choices=sections)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.rates, args.seconds, args.saturation, args.e2e, args.drain = [100], 2, 2, 20, 100
        args.rounds = 1
        args.drain_seconds, args.raw_drain = 10, 100
        args.slow, args.slow_seconds = 100, 5
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    results = Results(machine=harness.machine(), command=" ".join(["bench/run.py", *sys.argv[1:]]))
    for name, section in (("intake", intake), ("e2e", end_to_end), ("drain", drain),
                          ("slow", slow)):  # fmt: skip
        if name in args.only:
            section(args, work, results)
    write(results, args.output)
    print(args.output.read_text())


if __name__ == "__main__":
    main()
