"""Section 3 of bench/run.py: draining a backlog.

Paced (the default configuration): 10,000 deliveries left by an outage wait in the outbox of a
running `bridge serve` (the production config, SQLite, two web processes each running a
dispatcher) while a signed webhook about a new build arrives every second, against a fake
GitHub in its own process enforcing GitHub's secondary limits (80 a minute, 500 an hour per
credential). Measured: webhook sent → its dispatch arriving at GitHub for the fresh events,
the refusals GitHub answered, the backlog deliveries sent, and the sends per minute. The run
lasts ``--drain-seconds`` (120 s): the whole backlog would take about 30 hours at GitHub's
pace (10,000 at 337 an hour, bridge's backlog share of 450), which no benchmark waits for.

Raw: the same outbox drained by one `bridge worker` with pacing raised far above GitHub's
limits, against a fake GitHub answering in 50 ms: what the dispatcher itself can do.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench import harness
from bridge.events import Event, Instance
from bridge.store import Store, open_store

GITHUB_LIMITS = (80, 500)  # github.com's documented secondary limits (docs/protocols.md)


@dataclass
class PacedDrain:
    backlog: int  # deliveries waiting when the run started
    seconds: float  # length of the run
    fresh_ms: list[float] = field(default_factory=list)  # webhook sent → dispatch at GitHub
    fresh_sent: int = 0  # fresh webhooks posted
    refused: int = 0  # dispatches GitHub refused (secondary limits)
    backlog_sent: int = 0  # backlog deliveries GitHub accepted during the run
    per_minute: list[int] = field(default_factory=list)  # dispatches accepted, each minute


def fill(store: Store, count: int, *, received: float) -> None:
    """``count`` events, one delivery each, over many build uploads (4 events each), as an
    outage leaves them: received ``received`` (hours ago), due since."""

    def one(i: int) -> None:
        event = Event(
            "ios", "appstoreconnect", "buildUploadStateUpdated", f"backlog-{i}", "PROCESSING",
            "COMPLETE", Instance("buildUploads", f"backlog-upload-{i % (count // 4 + 1)}"),
            payload={},
        )  # fmt: skip
        store.record_event(event, b"{}", ["build-complete"], now=received + i * 0.001)

    with ThreadPoolExecutor(16) as pool:  # concurrent intakes: group commits
        list(pool.map(one, range(count)))


def paced(args: argparse.Namespace, work: Path) -> PacedDrain:
    url = f"sqlite:///{work / 'paced-drain.db'}"
    store = open_store(url)
    try:
        fill(store, args.drain, received=time.time() - 7200)
    finally:
        store.close()
    github = harness.start_fake_github(work, limits=GITHUB_LIMITS)
    env = harness.bridge_env(work, url, github.url, paced=True)  # bridge's defaults
    server = harness.start_bridge(work, env)
    result = PacedDrain(backlog=args.drain, seconds=args.drain_seconds)
    sent_at: dict[str, float] = {}
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        for i in range(int(args.drain_seconds)):
            time.sleep(max(0.0, started + i - time.monotonic()))  # one a second, on time
            event_id = f"fresh-{i}"
            body = harness.event_body(event_id)
            headers = {"X-Apple-Signature": "hmacsha256=" + harness.hex_hmac(body)}
            sent_at[event_id] = time.monotonic()
            conn.request("POST", "/webhooks/ios", body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status != 202:
                raise SystemExit(f"webhook answered {answer.status}")
        conn.close()
        time.sleep(max(0.0, started + args.drain_seconds + 2 - time.monotonic()))
        with urllib.request.urlopen(f"{github.url}/_bench/stats", timeout=10) as r:
            stats = json.load(r)
    finally:
        server.stop()
        github.stop()
    result.fresh_sent = len(sent_at)
    result.refused = int(stats["refused"])
    accepted = [d for d in stats["dispatches"] if not d["refused"]]
    for dispatch in accepted:
        if dispatch["event_id"] in sent_at:
            result.fresh_ms.append((dispatch["at"] - sent_at[dispatch["event_id"]]) * 1000)
    result.backlog_sent = sum(1 for d in accepted if str(d["event_id"]).startswith("backlog-"))
    minutes = int(args.drain_seconds // 60) or 1
    result.per_minute = [
        sum(1 for d in accepted if started + 60 * m <= d["at"] < started + 60 * (m + 1))
        for m in range(minutes)
    ]
    return result


def raw(args: argparse.Namespace, work: Path) -> tuple[int, float]:
    """``--raw-drain`` deliveries drained by one `bridge worker` with pacing raised:
    (deliveries, seconds)."""
    url = f"sqlite:///{work / 'raw-drain.db'}"
    store = open_store(url)
    fill(store, args.raw_drain, received=time.time() - 7200)
    github = harness.start_fake_github(work, latency=0.05)
    env = harness.bridge_env(work, url, github.url)  # pacing raised
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker"], env=env, cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        while store.outbox_stats().pending:
            time.sleep(1)
        return args.raw_drain, time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait(30)
        github.stop()
        store.close()
