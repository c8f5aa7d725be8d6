"""Event → chat message latency: bridge posting to Slack itself, beside the usual way, a
GitHub workflow that posts to Slack (``make bench``, after bench/run.py; or alone:
``python bench/notify_latency.py``).

Measured here, on 127.0.0.1, with ``bridge serve`` (the production gunicorn config, SQLite):

* webhook sent → Slack message arriving at a fake Slack (bridge's ``notify:`` route);
* webhook sent → repository_dispatch arriving at a fake GitHub (bridge's ``dispatch:``
  route): the first leg of "a workflow posts to Slack".

Not measurable here, so stated with its source: what happens between GitHub accepting the
dispatch and the workflow's Slack step (a hosted runner picked up, the job set up, the step
run). Writes ``bench/NOTIFY_RESULTS.md``.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness
from tests.fakes.chat import FakeChat
from tests.fakes.github import FakeGitHub

NOTIFY_ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
targets:
  team: {kind: slack, url: "${SLACK_WEBHOOK_URL}", rate_limit: 6000}
routes:
  - name: build-complete
    event: buildUploadStateUpdated
    to: COMPLETE
    notify: {target: team}
"""

# What a workflow adds after GitHub accepted the dispatch, from public measurements (not ours):
# GitHub community discussion on hosted-runner queue times (summarized at
# https://devactivity.com/insights/optimizing-developer-activities-tackling-github-ubuntu-slim-runner-queue-times):
# p90 queue time approaching one minute, p95/p99 reaching 5 minutes. The p50 is our assumption
# for an idle repository (a warm hosted runner picks the job up in seconds), stated as such.
QUEUE_P50_S = 10.0
QUEUE_P99_S = 300.0
JOB_SETUP_S = 5.0  # "Set up job" of a one-step job on a warm hosted runner: an estimate
BILLED_MINUTES = 1  # GitHub rounds every job up to a whole minute (GitHub Actions billing docs)


def percentile(values: list[float], p: float) -> float:
    return harness.percentile(values, p)


def run(n: int, work: Path) -> tuple[list[float], list[float]]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    chat_ms: list[float] = []
    github_ms: list[float] = []
    with FakeChat() as chat, FakeGitHub() as github:
        env = harness.bridge_env(
            work, f"sqlite:///{work / 'notify.db'}", github.url, routes=NOTIFY_ROUTES,
            SLACK_WEBHOOK_URL=chat.urls()["SLACK_WEBHOOK_URL"],
        )  # fmt: skip
        chat_ms = _measure(n, env, work, lambda i: chat.wait_for("slack", i + 1)[i].at)
        env = harness.bridge_env(work, f"sqlite:///{work / 'dispatch.db'}", github.url)
        github_ms = _measure(n, env, work, lambda i: github.wait_for_dispatches(i + 1)[i].at)
    return chat_ms, github_ms


def _measure(
    n: int, env: dict[str, str], work: Path, arrival: Callable[[int], float]
) -> list[float]:
    samples = []
    server = harness.start_bridge(work, env)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=10)
        for i in range(n):
            body = harness.event_body(f"{uuid.uuid4().hex}-{i}")
            headers = {"X-Apple-Signature": "hmacsha256=" + harness.hex_hmac(body)}
            t0 = time.monotonic()
            conn.request("POST", "/webhooks/ios", body=body, headers=headers)
            conn.getresponse().read()
            samples.append((arrival(i) - t0) * 1000)
        conn.close()
    finally:
        server.stop()
    return samples


def report(chat_ms: list[float], github_ms: list[float]) -> str:
    p50, p99 = percentile(chat_ms, 50), percentile(chat_ms, 99)
    g50, g99 = percentile(github_ms, 50), percentile(github_ms, 99)
    w50 = g50 / 1000 + QUEUE_P50_S + JOB_SETUP_S + p50 / 1000
    w99 = g99 / 1000 + QUEUE_P99_S + JOB_SETUP_S + p99 / 1000
    return f"""# Event → chat message

Machine: {harness.machine()}. Command: `bench/notify_latency.py` (`make bench`).
{len(chat_ms)} events, one at a time, to `bridge serve` (gunicorn, 2 workers x 4 threads, SQLite),
everything on 127.0.0.1. Latency: webhook sent → request arriving at the fake service.

| path | p50 | p99 | CI minutes per message |
|---|---|---|---|
| bridge posts to Slack (`notify:`), measured | {p50:.1f} ms | {p99:.1f} ms | 0 |
| bridge dispatches to GitHub (`dispatch:`), measured | {g50:.1f} ms | {g99:.1f} ms | — |
| a workflow posts to Slack: the dispatch above + runner queue + job setup + the Slack call \
| {w50:.1f} s | {w99:.0f} s | ≥ {BILLED_MINUTES} |

The last row adds to the measured dispatch what this machine cannot measure, as stated in
`bench/notify_latency.py`: hosted-runner queue time p50 {QUEUE_P50_S:.0f} s (our assumption
for an idle repository) and p99 {QUEUE_P99_S:.0f} s (a GitHub community measurement of
hosted-runner queues: p90 near one minute, p95/p99 reaching five minutes), plus
{JOB_SETUP_S:.0f} s of job setup (an estimate). GitHub bills every job rounded up to a whole
minute, so each message a workflow posts costs at least one CI minute, and one more secret
(the Slack URL) in every repository that posts.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 events, a smoke run")
    args = parser.parse_args()
    n = 20 if args.quick else args.events
    with tempfile.TemporaryDirectory() as tmp:
        chat_ms, github_ms = run(n, Path(tmp))
    text = report(chat_ms, github_ms)
    out = Path(__file__).resolve().parent / "NOTIFY_RESULTS.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
