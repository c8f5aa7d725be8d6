"""bench/RESULTS.md: the figures of one `make bench` run, with the machine and the command."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.drain import PacedDrain
from bench.harness import percentile
from bench.loadgen import LoadResult
from bench.slowclients import SlowResult

POLLING_MINUTES = 20  # fastlane's wait_for_build_processing, typically, per upload


@dataclass
class Footprint:
    idle_mib: list[float]  # RSS per process (gunicorn: master and workers)
    load_mib: list[float]
    cold_start: float  # seconds, process start → first accepted webhook


@dataclass
class SlowRun:
    result: SlowResult
    peak_mib: list[float]  # RSS peak per process during the run


@dataclass
class Results:
    machine: str
    command: str
    intake: dict[str, list[LoadResult]] = field(default_factory=dict)
    footprint: dict[str, Footprint] = field(default_factory=dict)
    e2e_ms: list[float] = field(default_factory=list)
    e2e_enriched_ms: list[float] = field(default_factory=list)  # + App Store Connect lookup
    drain: tuple[int, float] | None = None  # deliveries, seconds (pacing raised)
    paced_drain: PacedDrain | None = None
    slow: dict[str, SlowRun] = field(default_factory=dict)


def _rate(r: LoadResult) -> str:
    return f"{r.rate:.0f} req/s" if r.rate else "saturation (wrk, 16 conn.)"


def _intake_table(results: Results) -> list[str]:
    lines = [
        "| server | offered | answered req/s | p50 ms | p99 ms | p99.9 ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.intake.items():
        for r in runs:
            lines.append(
                f"| {name} | {_rate(r)} | {r.throughput:.0f} | {r.p50:.2f} | {r.p99:.2f} "
                f"| {r.p999:.2f} | {r.errors} |"
            )
    return lines


def _ratios(results: Results) -> list[str]:
    other = results.intake.get("adnanh/webhook")
    if not other:
        return ["adnanh/webhook was not installed: no ratios."]
    lines = [
        "| bridge / adnanh/webhook | offered | throughput ratio | p99 ratio |",
        "|---|---|---|---|",
    ]
    for name, runs in results.intake.items():
        if name == "adnanh/webhook":
            continue
        for mine, theirs in zip(runs, other, strict=False):
            throughput = mine.throughput / theirs.throughput if theirs.throughput else 0.0
            p99 = mine.p99 / theirs.p99 if theirs.p99 else 0.0
            lines.append(f"| {name} | {_rate(mine)} | {throughput:.2f} | {p99:.2f} |")
    return lines


def _footprint(results: Results) -> list[str]:
    lines = [
        "| server | cold start → first 202 | RSS idle (MiB, per process) | RSS peak under load |",
        "|---|---|---|---|",
    ]
    for name, f in results.footprint.items():
        idle = ", ".join(f"{x:.0f}" for x in f.idle_mib)
        peak = ", ".join(f"{x:.0f}" for x in f.load_mib)
        lines.append(f"| {name} | {f.cold_start:.2f} s | {idle} | {peak} |")
    return lines


def _slow(results: Results) -> list[str]:
    if not results.slow:
        return ["(not run)"]
    first = next(iter(results.slow.values())).result
    lines = [
        f"{first.slow} connections held open for the whole run (each cut one is opened again at",
        "once): half send a request line, then a header byte every 2 s; half send headers",
        "announcing a 100 kB body, then the body a byte every 2 s. Meanwhile signed webhooks",
        f"at {first.statuses.total() / first.seconds if first.seconds else 0:.0f} req/s for "
        f"{first.seconds:.0f} s, each on a new connection (latency from its scheduled time),",
        "and `GET /healthz` every 0.5 s. Unanswered after 30 s: an error. bridge on SQLite.",
        "",
        "| server | webhooks 2xx | errors | p50 ms | p95 ms | p99 ms | /healthz ok / errors "
        "| /healthz p95 ms | slow conns cut | longest slow conn | RSS peak (MiB, per process) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in results.slow.items():
        r = run.result
        longest = f"{max(r.lifetimes):.1f} s" if r.lifetimes else "never cut"
        peak = ", ".join(f"{x:.0f}" for x in run.peak_mib)
        lines.append(
            f"| {name} | {len(r.webhook_ms)} | {r.webhook_errors} "
            f"| {r.p(r.webhook_ms, 50):.1f} | {r.p(r.webhook_ms, 95):.1f} "
            f"| {r.p(r.webhook_ms, 99):.1f} | {len(r.healthz_ms)} / {r.healthz_errors} "
            f"| {r.p(r.healthz_ms, 95):.1f} | {r.cut} | {longest} | {peak} |"
        )
    return lines


def write(results: Results, path: Path) -> None:
    e2e = results.e2e_ms
    lines = [
        "# bridge benchmarks",
        "",
        f"Machine: {results.machine}. Command: `{results.command}` (`make bench`).",
        "Everything on 127.0.0.1; the load generator shares the machine with the servers.",
        "bridge: `bridge serve`, the production config (gunicorn gthread, 2 workers x 4",
        "threads), every event stored before the answer (SQLite WAL synchronous=FULL, or",
        "PostgreSQL with fsync on) and dispatched meanwhile to a fake GitHub in its own",
        'process ("web only": `BRIDGE_DISPATCHER=0`, the deliveries left to a `bridge worker`',
        "on other machines, e.g. a worker dyno). Flask + gunicorn, empty handler: a route that",
        "reads the body and answers 202, under bridge's gunicorn config: the most this stack",
        "can do here. adnanh/webhook: the equivalent HMAC-SHA256 rule running `/bin/true`,",
        "nothing stored. Fixed rates are open loop: latency counts from each request's",
        "scheduled time; the load generator (Python) and the fake GitHub (Python) use the same",
        "two cores as the servers.",
        "",
        "## 1. Intake",
        "",
        *_intake_table(results),
        "",
        *_ratios(results),
        "",
        "## 2. Event → GitHub",
        "",
    ]
    if e2e:
        p50, p99 = statistics.median(e2e), percentile(e2e, 99)
        lines += [
            "| path | p50 | p99 |",
            "|---|---|---|",
            f"| webhook → dispatch at GitHub (n={len(e2e)}, SQLite) "
            f"| {p50:.1f} ms | {p99:.1f} ms |",
            *_enriched_row(results.e2e_enriched_ms),
            f"| polling (fastlane `wait_for_build_processing`) | ~{POLLING_MINUTES} min | |",
            "",
            f"Speed-up over polling at p50: ~{POLLING_MINUTES * 60_000 / p50:,.0f}x.",
        ]
    lines += ["", "## 3. Backlog drain", "", *_paced_drain(results.paced_drain)]
    if results.drain:
        count, seconds = results.drain
        lines += [
            "",
            f"Raw rate, pacing raised (`BRIDGE_GITHUB_PER_MINUTE=1000000`): {count} deliveries",
            "queued, one `bridge worker` (4 dispatch threads), fake GitHub answering in 50 ms:",
            f"drained in {seconds:.1f} s = {count / seconds:.1f} deliveries/s. Requests on one",
            "credential go to GitHub one at a time (GitHub's guidance), so one process sends at",
            "most 1 / (GitHub latency) per second per credential.",
        ]
    lines += ["", "## 4. Footprint", "", *_footprint(results), ""]
    lines += ["## 5. Slow clients", "", *_slow(results), ""]
    path.write_text("\n".join(lines))


def _paced_drain(run: PacedDrain | None) -> list[str]:
    if run is None:
        return ["(not run)"]
    fresh = run.fresh_ms
    figures = (
        f"{statistics.median(fresh):.1f} ms | {percentile(fresh, 99):.1f} ms | {max(fresh):.1f} ms"
        if fresh
        else "none arrived | | "
    )
    minutes = ", ".join(str(n) for n in run.per_minute)
    return [
        f"{run.backlog:,} deliveries left by an outage (due for 2 h, over {run.backlog // 4:,}",
        "build uploads) wait in the outbox of `bridge serve` (production config, SQLite, two",
        "web processes each dispatching), one credential, default pacing (72 a minute, 450 an",
        f"hour); a signed webhook about a new build every second for {run.seconds:.0f} s. The fake",
        "GitHub, in its own process, enforces GitHub's secondary limits (80 a minute, 500 an",
        "hour per credential) and refuses past them as GitHub does (403, Retry-After).",
        "",
        "| fresh webhooks | arrived at GitHub | p50 | p99 | max | refusals (403/429) "
        "| backlog sent | dispatches per minute |",
        "|---|---|---|---|---|---|---|---|",
        f"| {run.fresh_sent} | {len(fresh)} | {figures} | {run.refused} | {run.backlog_sent} "
        f"| {minutes} |",
        "",
        "Latency: webhook sent → its dispatch arriving at the fake GitHub. Fresh deliveries may",
        "use the whole budget; the backlog sends only while the last minute and hour hold",
        "fewer than 75 % of it, and while fresh ones flow one every 10.7 s (the hour's share",
        "spread evenly), leaving them 66 of the minute's 72. The whole backlog would take about "
        f"{run.backlog / 337:.1f} h at",
        "GitHub's pace (337 an hour for the backlog of one credential): no benchmark waits.",
    ]


def _enriched_row(samples: list[float]) -> list[str]:
    if not samples:
        return []
    p50, p99 = statistics.median(samples), percentile(samples, 99)
    return [
        f"| … with enrichment: + `GET /v1/buildUploads/{{id}}` at a local fake App Store Connect "
        f"(n={len(samples)}; Apple's own response time comes on top) "
        f"| {p50:.1f} ms | {p99:.1f} ms |"
    ]
