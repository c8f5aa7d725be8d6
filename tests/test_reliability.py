"""Reliability: several real bridge processes sharing one real PostgreSQL, a fake GitHub with
programmable faults, crashes and outages. Every scenario asserts on what GitHub received,
delivery by delivery (each dispatch carries ``client_payload.bridge.delivery_id``).

Sizes fit CI; ``RELIABILITY_SCALE=10 pytest -m reliability`` runs the full-size variants
(5,000 events + 1,000 redeliveries in the burst) and prints the figures.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from bridge.delivery.dispatcher import OUTAGE_MAX_PAUSE, OUTAGE_THRESHOLD
from tests.fakes.github import FakeGitHub, RecordedRequest, Reply
from tests.support.postgres import PostgresServer
from tests.support.samples import ASC_OLD_SECRET, ASC_SECRET, PGYER_TOKEN, sample, signed
from tests.support.servers import Server, free_port, process_env

pytestmark = [pytest.mark.server, pytest.mark.reliability]
SCALE = float(os.environ.get("RELIABILITY_SCALE", "1"))
GITHUB_TOKEN = "ghp_reliability_token_never_logged"
BUILD = json.loads(sample("appstoreconnect/build-upload-complete.json"))
LIVE = json.loads(sample("appstoreconnect/app-version-ready-for-distribution.json"))
# Routes each kind of event matches in tests/support/app.py's ROUTES_YAML.
ROUTES_OF = {"build": ("build-complete",), "live": ("version-live", "version-live-notes")}


def event_body(n: int) -> tuple[bytes, str]:
    """Distinct signed events: even numbers a finished build upload, odd ones a version going
    live (two routes: workflow_dispatch and repository_dispatch)."""
    kind = "build" if n % 2 == 0 else "live"
    payload = json.loads(json.dumps(BUILD if kind == "build" else LIVE))
    payload["data"]["id"] = f"evt-{n:06d}"
    payload["data"]["relationships"]["instance"]["data"]["id"] = f"instance-{n:06d}"
    return json.dumps(payload).encode(), kind


@dataclass
class Ledger:
    """What bridge answered, and what GitHub accepted, per delivery id."""

    statuses: Counter[int] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    attempts: list[float] = field(default_factory=list)  # arrival times of every dispatch
    lock: threading.Lock = field(default_factory=threading.Lock)


def delivery_id(record: RecordedRequest) -> str:
    body = record.json or {}
    payload = body.get("client_payload") or {}
    if "bridge" in payload:
        return str(payload["bridge"]["delivery_id"])
    return "workflow:" + str(body.get("inputs", {}).get("version_id"))  # no correlation input


def faulty(ledger: Ledger, rng: random.Random, *, rate: float) -> Callable[..., Reply | None]:
    """30 % of dispatches fail: mostly 502, some 429/403 rate limits with Retry-After, some
    answers slower than the client's timeout. The rest are accepted and counted."""

    def fault(record: RecordedRequest) -> Reply | None:
        with ledger.lock:
            ledger.attempts.append(record.at)
            roll = rng.random()
            if roll >= rate:
                ledger.accepted[delivery_id(record)] += 1
                return None
        if roll < rate * 0.6:
            return Reply(502, body="<html>502 Bad Gateway</html>")
        if roll < rate * 0.75:
            return Reply(429, headers={"Retry-After": "1"})
        if roll < rate * 0.9:
            headers = {"Retry-After": "1", "X-RateLimit-Remaining": "0"}
            return Reply(403, headers=headers, body={"message": "secondary rate limit"})
        # Slower than BRIDGE_GITHUB_TIMEOUT, then a 504: GitHub did not take it.
        return Reply(504, delay=2.5)

    return fault


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status: int = r.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def send(servers: list[Server], n: int, body: bytes, ledger: Ledger) -> int:
    """Deliver like App Store Connect: to the load balancer (here: round-robin over the
    instances), and again to another instance when the connection fails."""
    for attempt in range(20):
        server = servers[(n + attempt) % len(servers)]
        try:
            status = post(f"{server.url}/webhooks/ios", body, signed(body))
        except (OSError, http.client.HTTPException):  # that instance is down: try another
            time.sleep(0.05)
            continue
        with ledger.lock:
            ledger.statuses[status] += 1
        return status
    raise AssertionError(f"event {n} could not be delivered to any instance")


def states(url: str) -> Counter[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    return Counter({state: count for state, count in rows})


def wait_until_settled(url: str, expected: int, timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = states(url)
        if found["delivered"] == expected:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s: {dict(found)} of {expected} deliveries")
        time.sleep(0.5)


@pytest.fixture
def cluster_env(
    environ: dict[str, str], postgres_url: str, fake_github: FakeGitHub
) -> dict[str, str]:
    return process_env(
        environ,
        DATABASE_URL=postgres_url,
        WEB_CONCURRENCY="2",
        GITHUB_TOKEN=GITHUB_TOKEN,
        GITHUB_API_URL=fake_github.url,
        BRIDGE_DRY_RUN="0",
        BRIDGE_DISPATCHER="1",
        BRIDGE_LEASE="5s",
        BRIDGE_POLL_INTERVAL="0.5s",
        BRIDGE_GITHUB_TIMEOUT="1s",
        # Retries stay in seconds here: the schedule is shortened, not removed.
        BRIDGE_RETRY_MAX_DELAY="2s",
        # The fake GitHub here has no secondary limits: bursts go out unpaced (pacing below
        # GitHub's limits is tests/test_github_pacing.py's).
        BRIDGE_GITHUB_PER_MINUTE="1000000",
        BRIDGE_GITHUB_PER_HOUR="1000000",
        LOG_LEVEL="DEBUG",
    )


@pytest.fixture
def cluster(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[list[Server]]:
    servers = [
        Server({**cluster_env, "PORT": str(free_port())}, tmp_path / f"server-{i}.log")
        for i in range(2)
    ]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.stop()


def test_burst_flaky_github_and_a_crashed_instance(
    cluster: list[Server], cluster_env: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Scenarios 1, 2, 4 and 7 together: a concurrent burst of distinct events and
    redeliveries to two instances sharing PostgreSQL, GitHub failing 30 % of calls, one
    instance killed with -9 halfway through. Everything is delivered; a delivery reaches
    GitHub twice only if it was in flight at the kill; no 5xx; no secret in any log line."""
    distinct = int(300 * SCALE)
    redeliveries = distinct // 5
    ledger = Ledger()
    fake_github.fault = faulty(ledger, random.Random(7), rate=0.3)
    bodies = [event_body(n) for n in range(distinct)]
    expected = sum(len(ROUTES_OF[kind]) for _, kind in bodies)
    victim = cluster[1]

    with ThreadPoolExecutor(16) as pool:
        first = list(pool.map(lambda n: send(cluster, n, bodies[n][0], ledger), range(distinct)))
        # Redeliveries of events already answered 202, to the other instance, while the
        # victim dies and the survivor carries on.
        killer = threading.Timer(0.2, victim.kill9)
        killer.start()
        again = list(
            pool.map(lambda n: send(cluster, n + 1, bodies[n][0], ledger), range(redeliveries))
        )
        killer.join()

    assert Counter(first) == {202: distinct}
    assert Counter(again) == {200: redeliveries}
    assert not any(status >= 500 for status in ledger.statuses)

    settled = wait_until_settled(cluster_env["DATABASE_URL"], expected, timeout=120 * SCALE)
    time.sleep(1)  # anything still arriving would be a stray duplicate
    with ledger.lock:
        accepted = Counter(ledger.accepted)
    missing = [d for d, count in accepted.items() if count == 0]
    repository = {d: c for d, c in accepted.items() if not d.startswith("workflow:")}
    duplicates = sum(c - 1 for c in accepted.values() if c > 1)
    # Deliveries in flight when the victim died: at most its workers x dispatch threads.
    in_flight_bound = 2 * 4
    report = {
        "events": distinct,
        "redeliveries": redeliveries,
        "deliveries": expected,
        "delivered": settled["delivered"],
        "dispatch attempts": len(ledger.attempts),
        "accepted by GitHub": sum(accepted.values()),
        "duplicates": duplicates,
        "lost": expected - len(accepted),
        "5xx": sum(c for s, c in ledger.statuses.items() if s >= 500),
    }
    print("reliability burst:", json.dumps(report))
    assert missing == []
    assert len(accepted) == expected, report
    assert len(repository) == expected - distinct // 2  # one per build, one per live version
    assert duplicates <= in_flight_bound, report

    logs = "".join(s.log.read_text() for s in cluster)
    assert "DEBUG" in logs
    for secret in (GITHUB_TOKEN, ASC_SECRET, ASC_OLD_SECRET, PGYER_TOKEN):
        assert secret not in logs
    assert "hmacsha256=" not in logs


def test_github_down_then_back_without_a_retry_storm(
    cluster: list[Server], cluster_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    """Scenario 3: GitHub answers 503 to everything for a while, then recovers. While it is
    down each instance probes with one delivery at growing intervals (no storm, however large
    the backlog); everything is delivered afterwards."""
    count = int(40 * SCALE)
    down_for = 8.0 * SCALE
    ledger = Ledger()
    down_until = time.monotonic() + down_for

    def outage(record: RecordedRequest) -> Reply | None:
        with ledger.lock:
            ledger.attempts.append(record.at)
            if record.at < down_until:
                return Reply(503)
            ledger.accepted[delivery_id(record)] += 1
        return None

    fake_github.fault = outage
    builds = [event_body(n * 2)[0] for n in range(count)]  # one route each
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda n: send(cluster, n, builds[n], ledger), range(count))) == {202}

    wait_until_settled(cluster_env["DATABASE_URL"], count, timeout=60 * SCALE)
    during = sum(1 for at in ledger.attempts if at < down_until)
    # Each dispatcher (2 instances x 2 workers) sends a first batch, then, once GitHub has
    # failed 3 times in a row, one probe per pause of 1, 2, 4 … 60 s: the attempt rate while
    # GitHub is down does not grow with the backlog.
    probes, waited = 0, 0.0
    while waited <= down_for:
        waited += min(OUTAGE_MAX_PAUSE, 2.0**probes)
        probes += 1
    bound = 4 * (4 + OUTAGE_THRESHOLD + probes)
    print(f"github outage: {during} attempts (bound {bound}) for {count} deliveries "
          f"in {down_for:.0f} s")  # fmt: skip
    assert during <= bound
    assert sorted(ledger.accepted.values()) == [1] * count


def test_postgres_restart_answers_503_and_loses_nothing(
    environ: dict[str, str], fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Scenario 5: PostgreSQL restarted while webhooks arrive: a request waits up to 5 s for a
    connection (a short blip is absorbed), then gets 503 with Retry-After (never a 500); the
    pool recovers and every 202 is delivered."""
    pg = PostgresServer()  # its own server: this test stops it
    pg.init()
    pg.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update(
        {
            "PORT": str(free_port()),
            "DATABASE_URL": pg.url(),
            "WEB_CONCURRENCY": "2",
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_API_URL": fake_github.url,
            "BRIDGE_DRY_RUN": "0",
            "BRIDGE_DISPATCHER": "1",
            "BRIDGE_POLL_INTERVAL": "0.5s",
            # A claim whose attempt the outage cut short (its fence or its result could not
            # be written) is taken again when its lease runs out: shorter than the wait below.
            "BRIDGE_LEASE": "8s",
            "BRIDGE_GITHUB_PER_MINUTE": "1000000",  # no secondary limits in this fake GitHub
            "BRIDGE_GITHUB_PER_HOUR": "1000000",
        }
    )
    server = Server(env, tmp_path / "server.log").start()
    try:
        accepted: list[str] = []
        statuses: Counter[int] = Counter()
        retry_after_seen = False
        stop = threading.Event()

        def webhooks() -> None:
            nonlocal retry_after_seen
            n = 0
            while not stop.is_set():
                body, _ = event_body(n * 2)
                request = urllib.request.Request(
                    f"{server.url}/webhooks/ios", data=body, method="POST", headers=signed(body)
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:
                        statuses[r.status] += 1
                        accepted.append(f"evt-{n * 2:06d}")
                except urllib.error.HTTPError as exc:
                    statuses[exc.code] += 1
                    retry_after_seen |= exc.code == 503 and bool(exc.headers["Retry-After"])
                n += 1
                time.sleep(0.02)

        sender = threading.Thread(target=webhooks)
        sender.start()
        time.sleep(1.5)
        pg.stop()
        time.sleep(7)  # longer than the 5 s a request waits for a connection: some get 503
        pg.start()
        time.sleep(6)  # the pools reconnect (with backoff) and intake resumes
        stop.set()
        sender.join()

        print(f"postgres restart: {dict(statuses)}")
        assert set(statuses) <= {202, 503}, statuses
        assert statuses[503] > 0 and retry_after_seen
        assert statuses[202] > 0
        fake_github.wait_for_dispatches(len(accepted), timeout=30)
        sent = {r.json["client_payload"]["event_id"] for r in fake_github.dispatches()}
        assert set(accepted) <= sent
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
        pg.cleanup()
