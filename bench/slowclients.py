"""Slow clients: many connections that trickle their request, and real traffic meanwhile.

Half the slow connections send a request line and then one header byte every ``interval``
seconds; the other half send whole headers announcing a body and then the body one byte at a
time. A connection the server cuts is opened again at once, so ``count`` of them stay open
for the whole run. Meanwhile, well-formed signed webhooks at a fixed rate (open loop, latency
from each request's scheduled time) and a ``GET /healthz`` every half second on a fresh
connection. One asyncio loop, 127.0.0.1 only; everything it opens it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.harness import percentile
from bench.loadgen import Request, _encode, _read_response

HEADER_TRICKLE = b"POST /webhooks/ios HTTP/1.1\r\nHost: slow\r\n"
BODY_TRICKLE = b"POST /webhooks/ios HTTP/1.1\r\nHost: slow\r\nContent-Length: 100000\r\n\r\n{"
TIMEOUT = 30.0  # a webhook or probe unanswered after this counts as an error


@dataclass
class SlowResult:
    slow: int  # slow connections held open
    seconds: float
    webhook_ms: list[float] = field(default_factory=list)  # 2xx answers
    webhook_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    healthz_ms: list[float] = field(default_factory=list)
    healthz_errors: int = 0
    cut: int = 0  # slow connections the server closed
    lifetimes: list[float] = field(default_factory=list)  # seconds from open to cut
    refused: int = 0  # slow connections the server did not accept at all

    def p(self, samples: list[float], q: float) -> float:
        return percentile(samples, q) if samples else float("nan")


async def _slow_connection(host: str, port: int, head: bytes, interval: float,
                           stop: asyncio.Event, result: SlowResult) -> None:  # fmt: skip
    while not stop.is_set():
        opened = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, TimeoutError):
            result.refused += 1
            await asyncio.sleep(interval)
            continue
        cut = False
        try:
            writer.write(head)
            await writer.drain()
            while not stop.is_set():
                try:
                    await asyncio.wait_for(reader.read(4096), interval)
                    cut = True  # an answer (408) or the connection closed: cut
                    break
                except TimeoutError:
                    pass
                writer.write(b"X")
                await writer.drain()
        except OSError:
            cut = True
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if not cut:
            return  # the run is over
        result.cut += 1
        result.lifetimes.append(time.monotonic() - opened)


async def _probe_healthz(
    host: str, port: int, probe_path: str, stop: asyncio.Event, result: SlowResult
) -> None:
    wire = f"GET {probe_path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".encode()
    while not stop.is_set():
        started = time.perf_counter()
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(wire)
            status = await asyncio.wait_for(_read_response(reader), TIMEOUT)
            if status == 200:
                result.healthz_ms.append((time.perf_counter() - started) * 1000)
            else:
                result.healthz_errors += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            result.healthz_errors += 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.5)


async def _webhooks(host: str, port: int, path: str, requests: Sequence[Request], rate: float,
                    seconds: float, result: SlowResult) -> None:  # fmt: skip
    total = min(len(requests), int(rate * seconds))
    start = time.perf_counter() + 0.1

    async def one(i: int) -> None:
        scheduled = start + i / rate
        writer = None
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(_encode(path, f"{host}:{port}", requests[i]))
            status = await asyncio.wait_for(_read_response(reader), TIMEOUT)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
            result.webhook_errors += 1
            return
        finally:
            if writer is not None:
                writer.close()
        result.statuses[status] += 1
        if 200 <= status < 300:
            result.webhook_ms.append((time.perf_counter() - scheduled) * 1000)
        else:
            result.webhook_errors += 1

    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def _run(url: str, path: str, requests: Sequence[Request], *, slow: int, rate: float,
               seconds: float, interval: float, body_path: str | None,
               probe_path: str) -> SlowResult:  # fmt: skip
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = SlowResult(slow, seconds)
    stop = asyncio.Event()
    heads: tuple[bytes, ...] = (HEADER_TRICKLE, BODY_TRICKLE)
    if body_path is not None:  # another server's webhook path
        heads = tuple(h.replace(b"/webhooks/ios", body_path.encode()) for h in heads)
    slow_tasks = []
    for i in range(slow):
        slow_tasks.append(asyncio.create_task(
            _slow_connection(host, port, heads[i % 2], interval, stop, result)))  # fmt: skip
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # open them over a moment, not in one SYN burst
    await asyncio.sleep(2 * interval)  # every slow connection open and trickling
    probe = asyncio.create_task(_probe_healthz(host, port, probe_path, stop, result))
    await _webhooks(host, port, path, requests, rate, seconds, result)
    stop.set()
    await asyncio.gather(probe, *slow_tasks)
    return result


def slow_clients(url: str, path: str, requests: Sequence[Request], *, slow: int = 500,
                 rate: float = 20, seconds: float = 20, interval: float = 2.0,
                 body_path: str | None = None,
                 probe_path: str = "/healthz") -> SlowResult:  # fmt: skip
    """``body_path``: the webhook path in the slow requests (default bridge's); ``probe_path``:
    the health check (adnanh/webhook has none: its root answers 200)."""
    return asyncio.run(_run(url, path, requests, slow=slow, rate=rate, seconds=seconds,
                            interval=interval, body_path=body_path,
                            probe_path=probe_path))  # fmt: skip
