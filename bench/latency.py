"""Quick benchmark: webhook ack latency and event → GitHub latency, on this machine.

Starts `bridge serve` (gunicorn, production config, SQLite) and a fake GitHub on 127.0.0.1,
sends signed App Store Connect events, and reports:

* ack latency: client send → 202 received (sequential, one keep-alive connection), and
  throughput with several concurrent clients;
* event → GitHub: client send → the dispatch request arriving at the fake GitHub.

Run: ``make bench`` (or ``.venv/bin/python bench/latency.py --events 2000``). Writes
``bench/RESULTS.md``. Only loopback traffic; bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.signatures import apple_signature  # noqa: E402
from tests.fake_github import FakeGitHub  # noqa: E402

SECRET = "bench-secret"
ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
routes:
  - name: build-complete
    event: buildUploadStateUpdated
    to: COMPLETE
    dispatch: {repository: acme/ios, event_type: asc-build-complete}
"""


def body(event_id: str) -> bytes:
    return json.dumps(
        {
            "data": {
                "type": "buildUploadStateUpdated",
                "id": event_id,
                "version": 1,
                "attributes": {"oldState": "PROCESSING", "newState": "COMPLETE"},
                "relationships": {"instance": {"data": {"type": "buildUploads", "id": "b-1"}}},
            }
        }
    ).encode()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def post(conn: http.client.HTTPConnection, event_id: str) -> int:
    payload = body(event_id)
    conn.request(
        "POST",
        "/webhooks/ios",
        body=payload,
        headers={"X-Apple-Signature": apple_signature(payload, SECRET)},
    )
    response = conn.getresponse()
    response.read()
    return response.status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000, help="sequential ack samples")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--e2e", type=int, default=200, help="event → GitHub samples")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    (work / "routes.yaml").write_text(ROUTES)
    port = free_port()
    with FakeGitHub() as github:
        env = {
            **os.environ,
            "BRIDGE_ROUTES": str(work / "routes.yaml"),
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "ASC_SECRET": SECRET,
            "GITHUB_TOKEN": "bench-token",
            "GITHUB_API_URL": github.url,
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        log = (work / "server.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            started = time.monotonic()
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    if time.monotonic() - started > 30:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.05)
            cold_start = time.monotonic() - started
            results = measure(port, github, args)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
    report(results, cold_start, args)


def measure(port: int, github: FakeGitHub, args: argparse.Namespace) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(50):  # warm-up
        post(conn, str(uuid.uuid4()))
    acks: list[float] = []
    for _ in range(args.events):
        t0 = time.perf_counter()
        assert post(conn, str(uuid.uuid4())) == 202
        acks.append((time.perf_counter() - t0) * 1000)
    conn.close()

    per_client = args.events // args.clients
    errors: list[int] = []

    def client() -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(per_client):
            if (status := post(c, str(uuid.uuid4()))) != 202:
                errors.append(status)
        c.close()

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    throughput = per_client * args.clients / (time.perf_counter() - t0)

    expected = 50 + args.events + per_client * args.clients
    github.wait_for_dispatches(expected, timeout=600)  # drain before measuring end to end
    github.clear()
    e2e: list[float] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(args.e2e):
        event_id = str(uuid.uuid4())
        t0 = time.monotonic()
        post(conn, event_id)
        arrived = github.wait_for_dispatches(i + 1, timeout=30)[i]
        e2e.append((arrived.at - t0) * 1000)
    conn.close()
    return {
        "ack_p50": statistics.median(acks),
        "ack_p99": percentile(acks, 99),
        "ack_max": max(acks),
        "throughput": throughput,
        "errors": float(len(errors)),
        "e2e_p50": statistics.median(e2e),
        "e2e_p99": percentile(e2e, 99),
    }


def report(r: dict[str, float], cold_start: float, args: argparse.Namespace) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    throughput = f"{r['throughput']:.0f} req/s ({r['errors']:.0f} errors)"
    text = f"""# bridge quick benchmark

Machine: {machine}, {platform.system()} {platform.release()}.
Server: `bridge serve` (gunicorn gthread, 2 workers x 4 threads), SQLite (WAL, synchronous=FULL),
fake GitHub on 127.0.0.1 answering at once. Command: `make bench`.

| measure | value |
|---|---|
| ack latency p50 (sequential, keep-alive, n={args.events}) | {r["ack_p50"]:.2f} ms |
| ack latency p99 | {r["ack_p99"]:.2f} ms |
| ack latency max | {r["ack_max"]:.2f} ms |
| intake throughput, {args.clients} concurrent clients | {throughput} |
| event → GitHub p50 (n={args.e2e}) | {r["e2e_p50"]:.2f} ms |
| event → GitHub p99 | {r["e2e_p99"]:.2f} ms |
| cold start (process start → /healthz 200) | {cold_start:.2f} s |

For comparison, fastlane's `wait_for_build_processing` typically polls ~20 minutes per upload.
"""
    (Path(__file__).parent / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
