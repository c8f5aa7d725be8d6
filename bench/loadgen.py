"""Open-loop HTTP load at a fixed rate, and wrk at saturation.

The fixed-rate generator schedules request *i* at ``start + i / rate`` whatever the server
does, and measures latency from that scheduled time (no coordinated omission: a stalled server
is charged for the requests that queued behind the stall). Keep-alive connections, plain
asyncio streams, one process: it stays accurate to ~1,500 req/s on one core.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

Request = tuple[bytes, dict[str, str]]  # body, headers


@dataclass
class LoadResult:
    rate: float  # offered, req/s (0: saturation)
    answered: int  # 2xx answers
    errors: int  # other answers, connection errors and timeouts
    seconds: float
    p50: float  # ack latency, ms
    p99: float
    p999: float
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def _summary(rate: float, seconds: float, latencies: list[float], statuses: Counter[int],
             errors: int) -> LoadResult:  # fmt: skip
    ordered = sorted(latencies) or [float("nan")]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    ok = sum(c for s, c in statuses.items() if 200 <= s < 300)
    return LoadResult(rate, ok, errors + len(latencies) - ok, seconds, pct(50), pct(99),
                      pct(99.9), statuses)  # fmt: skip


def _encode(path: str, host: str, request: Request) -> bytes:
    body, headers = request
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             "Content-Type: application/json"]  # fmt: skip
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if length:
        await reader.readexactly(int(length.group(1)))
    return status


async def _fixed_rate(
    url: str, requests: Sequence[Request], rate: float, seconds: float, connections: int
) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    wire = [_encode(parts.path, f"{host}:{port}", r) for r in requests]
    total = min(len(wire), int(rate * seconds))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    start = time.perf_counter() + 0.1

    async def connection() -> None:
        nonlocal errors
        reader = writer = None
        while (i := await queue.get()) >= 0:
            scheduled = start + i / rate
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(wire[i])
                status = await asyncio.wait_for(_read_response(reader), 30)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            statuses[status] += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)
        if writer is not None:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(-1)
    await asyncio.gather(*workers)
    return _summary(rate, time.perf_counter() - start, latencies, statuses, errors)


def fixed_rate(
    url: str, requests: Sequence[Request], *, rate: float, seconds: float, connections: int = 64
) -> LoadResult:
    return asyncio.run(_fixed_rate(url, requests, rate, seconds, connections))


_WRK_SCRIPT = """
local requests = {}
%s
-- Each wrk thread takes every other request, so no event is sent twice.
local threads = 0
setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local i = -1
request = function()
  i = i + 1
  return requests[(i * 2 + tid) %% #requests + 1]
end
done = function(summary, latency, requests_)
  io.write(string.format("BENCH %%d %%d %%d %%.3f %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000))
end
"""


def _lua(text: bytes) -> str:
    """A Lua string literal: printable ASCII as is, everything else as decimal escapes."""
    out = []
    for b in text:
        if 32 <= b < 127 and b not in (34, 92):
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def saturation(
    url: str, requests: Sequence[Request], *, seconds: float, connections: int = 16
) -> LoadResult | None:
    """wrk, closed loop (each connection sends as soon as it has its answer), 2 threads.
    None when wrk is not installed."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    parts = urlsplit(url)
    path = parts.path
    # Host too: wrk.format only adds it once wrk has parsed the URL, after this script loads.
    common = {"Host": parts.netloc, "Content-Type": "application/json"}
    entries = []
    for body, headers in requests:
        header_table = ", ".join(f"[{_lua(k.encode())}] = {_lua(v.encode())}"
                                 for k, v in {**headers, **common}.items())  # fmt: skip
        entries.append(
            f'requests[#requests + 1] = wrk.format("POST", {_lua(path.encode())}, '
            f"{{{header_table}}}, {_lua(body)})"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % "\n".join(entries))
    try:
        out = subprocess.run(
            [wrk, "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "-s", script.name, url],
            capture_output=True, text=True, timeout=seconds + 120, check=True,
        ).stdout  # fmt: skip
    finally:
        Path(script.name).unlink()
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    count, errors, micros, p50, p99, p999 = line.split()[1:]
    answered = int(count) - int(errors)
    return LoadResult(0, answered, int(errors), int(micros) / 1e6, float(p50), float(p99),
                      float(p999))  # fmt: skip
