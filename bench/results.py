"""bench/RESULTS.md: the figures of one `make bench` run, with the machine and the command."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.drain import PacedDrain
from bench.harness import percentile
from bench.loadgen import LoadResult
from bench.slowclients import SlowResult

SQLITE = "bridge, SQLite"
PG = "bridge, PostgreSQL"
AT_ONCE = ", every event dispatched at once"  # pacing raised far above GitHub's limits
EMPTY = "Flask + gunicorn, empty handler"
POLLING_MINUTES = 20  # fastlane's wait_for_build_processing, typically, per upload


# Why the goals not met are not, from the profiles (bench/profile_intake.py: CPU time per
# request is steadier than throughput on a shared machine; bench/pg_costs.py): written by hand,
# kept in RESULTS.md when the tables are redone.
WHY = """\
### Why the goals not met are not

Figures of the run above unless said otherwise; CPU per request from `bench/profile_intake.py`
(wrk, 16 connections, CPU time of every process of the server from /proc divided by the
webhooks answered) and round trips from `bench/pg_costs.py`, on this 2-core machine.

**PostgreSQL ack p99 at 300 req/s.** Met at 100 req/s. At 300 req/s the empty Flask app alone
answers at 1.2x adnanh/webhook's p99: Python's HTTP stack leaves bridge 0.8x of adnanh's p99
(about 1 ms) for all it does. bridge's PostgreSQL row with its paced dispatcher is within 0.1
ms of the web-only row (no dispatcher): what remains is the request itself, bridge's Python
beyond Flask (0.06-0.15 ms of CPU) and the commit, one round trip and one WAL flush (0.4-1.8 ms
on this disk, shared by concurrent commits), which the 202 waits for with `synchronous_commit`
on. The fsync is the difference, and it is not negotiable; a faster disk for PostgreSQL's WAL
is what narrows it. With every event dispatched at once, each event also brings a paced claim
(one transaction of 7-8 round trips), the fence before sending and the attempt (one each):
about three WAL flushes and a PyGithub POST whose Python shares the interpreter lock and the
two cores with the requests. Where this load is expected, `BRIDGE_DISPATCHER=0` with a `bridge
worker` moves that work off the web processes. (Before this work: 5 round trips per event on
intake, a ping at every pool checkout, 23 per event with dispatching on, and every claim re-
checked one build's whole queue: 4.5x at 100 req/s and 13.6x at 300 on the same kind of
machine.)

**SQLite intake at saturation.** The empty Flask app costs 0.28-0.30 ms of CPU per request.
bridge costs 0.69-0.73 ms with no dispatch to make (as shipped under a flood: GitHub's budget
lets 72 a minute out and the dispatcher's rounds are gathered), so at most about 0.4 of the
ceiling, and 1.50 ms when every event is dispatched at once. Per request, beyond Flask:

- **The store**: 0.19-0.22 ms of CPU per event (one thread, no HTTP). Every event writes
  about ten 4 KiB pages to the WAL (two tables and their ten indexes) and one fdatasync,
  about 0.08 ms of CPU, shared by the 1.3-1.9 events of a group commit.
- **bridge's own Python** (signature, strict JSON, routing, metrics, the JSON answer):
  0.12-0.15 ms between the store's I/O, 0.06 ms with the store left out.
- **Taking turns** (strace -f on both workers at 300 req/s): 75 futex calls per request,
  against 18 for the empty app, as threads hand over the interpreter lock and the store's
  locks; 1.4 sleeps per request waiting for the other worker's write lock. (Page reads per
  request fell from 14 to 0.6 once a process's writes shared one connection.)
- **Dispatching every event at once**: about 0.8 ms more. Each delivery is a POST to GitHub
  through PyGithub (as many Python samples under py-spy as the webhook handler itself) and
  three write transactions with an fsync each (claim, the lease fence before sending,
  finish).

0.7 of the ceiling means about 0.43 ms of CPU per request: bridge would have to verify, parse,
route and durably store an event in about 0.13 ms beyond Flask, less than the store alone
costs with an fsync before each 202. Python-level savings cannot close that; a different
HTTP stack or giving up the fsync could, and bridge does neither.
"""


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
    rounds: dict[str, list[list[LoadResult]]] = field(default_factory=dict)  # every round

    def add_round(self, name: str, runs: list[LoadResult], footprint: Footprint) -> None:
        """One intake round of ``name``: its figures become the best of the rounds so far
        (``best``); its footprint the worst (the larger RSS, the slower cold start)."""
        self.rounds.setdefault(name, []).append(runs)
        self.intake[name] = [best(same) for same in zip(*self.rounds[name], strict=True)]
        seen = self.footprint.get(name)
        if seen is not None:
            footprint = Footprint(
                idle_mib=_worst(seen.idle_mib, footprint.idle_mib),
                load_mib=_worst(seen.load_mib, footprint.load_mib),
                cold_start=max(seen.cold_start, footprint.cold_start),
            )
        self.footprint[name] = footprint


def best(runs: tuple[LoadResult, ...]) -> LoadResult:
    """The best of one load's rounds: the most answered at saturation, the lowest p99 at a
    fixed rate (each round's figures stay together: a p50 is never taken from another
    round than its p99)."""
    if runs[0].rate == 0:
        return max(runs, key=lambda r: r.throughput)
    return min(runs, key=lambda r: (r.errors, r.p99))


def _worst(a: list[float], b: list[float]) -> list[float]:
    """Per process (sorted lists of RSS), the larger of two rounds."""
    if len(a) != len(b):
        return a if max(a, default=0) >= max(b, default=0) else b
    return [max(x, y) for x, y in zip(a, b, strict=True)]


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


# What bridge aims for, measured against the references of the same run (``WHY``: the gaps).
P99_VS_ADNANH = 2.0  # PostgreSQL ack p99, dispatching on, at most this many times adnanh's
GOAL_RATES = (100.0, 300.0)  # req/s at which the p99 goal holds
CEILING_SHARE = 0.7  # SQLite intake at saturation, at least this share of the empty Flask app
FRESH_VS_NORMAL = 2.0  # a new event's latency during a drain, at most this many times usual
MAX_WORKER_MIB = 80.0  # RSS per process of `bridge serve`
MAX_COLD_START = 1.0  # seconds, process start → first 202


def _goals(results: Results) -> list[str]:
    """One line per goal: target, figure, met or not (the reasons follow the table)."""
    rows: list[tuple[str, str, str, bool]] = []
    adnanh = results.intake.get("adnanh/webhook")
    for name, how in ((PG, "as shipped (paced)"), (PG + AT_ONCE, "every event dispatched at once")):
        for rate in GOAL_RATES:
            mine = next((r for r in results.intake.get(name, []) if r.rate == rate), None)
            theirs = next((r for r in adnanh or [] if r.rate == rate), None)
            if mine and theirs and theirs.p99:
                ratio = mine.p99 / theirs.p99
                rows.append((
                    f"PostgreSQL ack p99 at {rate:.0f} req/s, dispatching on: {how}",
                    f"≤ {P99_VS_ADNANH:.0f}x adnanh/webhook",
                    f"{mine.p99:.2f} ms vs {theirs.p99:.2f} ms = {ratio:.2f}x",
                    ratio <= P99_VS_ADNANH and mine.errors == 0,
                ))  # fmt: skip
    ceiling = _saturation(results, EMPTY)
    for name, how in ((SQLITE, "as shipped (paced)"), (SQLITE + AT_ONCE, "every event at once")):
        sqlite = _saturation(results, name)
        if sqlite and ceiling and ceiling.throughput:
            share = sqlite.throughput / ceiling.throughput
            rows.append((
                f"SQLite intake at saturation, dispatching on: {how}",
                f"≥ {CEILING_SHARE} x the empty Flask app",
                f"{sqlite.throughput:.0f} vs {ceiling.throughput:.0f} req/s = {share:.2f}",
                share >= CEILING_SHARE,
            ))  # fmt: skip
    rows += _drain_goals(results)
    bridges = {k: v for k, v in results.footprint.items() if k.startswith("bridge")}
    if bridges:
        peak = max(max(f.load_mib + f.idle_mib) for f in bridges.values())
        cold = max(f.cold_start for f in bridges.values())
        rows.append(
            (
                "RSS per process of `bridge serve`, peak under load",
                f"≤ {MAX_WORKER_MIB:.0f} MiB",
                f"{peak:.0f} MiB",
                peak <= MAX_WORKER_MIB,
            )
        )
        rows.append(("Cold start → first 202", f"≤ {MAX_COLD_START:.0f} s", f"{cold:.2f} s",
                     cold <= MAX_COLD_START))  # fmt: skip
    if not rows:
        return ["(the sections these goals need were not run)"]
    lines = ["| goal | target | measured | met |", "|---|---|---|---|"]
    lines += [f"| {g} | {t} | {m} | {'yes' if ok else '**no**'} |" for g, t, m, ok in rows]
    return lines


def _saturation(results: Results, name: str) -> LoadResult | None:
    return next((r for r in results.intake.get(name, []) if r.rate == 0), None)


def _drain_goals(results: Results) -> list[tuple[str, str, str, bool]]:
    run = results.paced_drain
    if run is None:
        return []
    rows = [(
        f"Drain of a {run.backlog:,} backlog at GitHub's limits: refusals",
        "0", str(run.refused), run.refused == 0,
    ), (
        "… while a new event arrives every second: each sent",
        f"{run.fresh_sent} of {run.fresh_sent}", f"{len(run.fresh_ms)}",
        len(run.fresh_ms) == run.fresh_sent > 0,
    )]  # fmt: skip
    if run.fresh_ms and results.e2e_ms:
        fresh, normal = percentile(run.fresh_ms, 99), percentile(results.e2e_ms, 99)
        rows.append((
            "… its webhook → dispatch p99, against section 2's (no backlog)",
            f"≤ {FRESH_VS_NORMAL:.0f}x", f"{fresh:.1f} ms vs {normal:.1f} ms",
            fresh <= FRESH_VS_NORMAL * normal,
        ))  # fmt: skip
    return rows


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
        "bridge: `bridge serve`, the production config (gunicorn, bridge's buffering gthread",
        "worker, 2 workers x 4 threads), every event stored before the answer (SQLite WAL",
        "synchronous=FULL, or PostgreSQL with fsync on) and dispatched meanwhile to a fake",
        'GitHub in its own process ("web only": `BRIDGE_DISPATCHER=0`, the deliveries left to',
        "a `bridge worker`",
        "on other machines, e.g. a worker dyno). Flask + gunicorn, empty handler: a route that",
        "reads the body and answers 202, under bridge's gunicorn config: the most this stack",
        "can do here. adnanh/webhook: the equivalent HMAC-SHA256 rule running `/bin/true`,",
        "nothing stored. Fixed rates are open loop: latency counts from each request's",
        "scheduled time; the load generator (Python) and the fake GitHub (Python) use the same",
        "two cores as the servers.",
        "",
        "## Goals",
        "",
        *_goals(results),
        "",
        WHY,
        "## 1. Intake",
        "",
        f"Each figure is the best of {max(map(len, results.rounds.values()), default=1)} "
        "alternating rounds (every server in turn, then again); RSS and cold start are the "
        "worst of them.",
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
