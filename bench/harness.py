"""The processes a benchmark runs, all on 127.0.0.1: bridge (`bridge serve`, the production
gunicorn config), adnanh/webhook (Debian's `webhook`), a fake GitHub in its own process, and
PostgreSQL (tests/support/postgres.py, with fsync on)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.servers import free_port  # bench/run.py puts the checkout on sys.path

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-secret-0123456789"
GITHUB_TOKEN = "bench-token"
ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
routes:
  - name: build-complete
    event: buildUploadStateUpdated
    to: COMPLETE
    dispatch: {repository: acme/ios, event_type: asc-build-complete}
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


# What GET /v1/buildUploads/b-1 answers (the instance of every event_body).
UPLOAD_RESOURCE = json.dumps(
    {
        "data": {
            "type": "buildUploads",
            "id": "b-1",
            "attributes": {
                "cfBundleShortVersionString": "1.101.0",
                "cfBundleVersion": "7",
                "platform": "IOS",
                "state": {"errors": [], "warnings": [], "infos": [], "state": "COMPLETE"},
            },
        }
    }
)


def event_body(event_id: str, instance: str = "b-1") -> bytes:
    """A finished build upload (one route), as App Store Connect sends it, about the build
    upload ``instance``."""
    return json.dumps(
        {
            "data": {
                "type": "buildUploadStateUpdated",
                "id": event_id,
                "version": 1,
                "attributes": {"oldState": "PROCESSING", "newState": "COMPLETE"},
                "relationships": {"instance": {"data": {"type": "buildUploads", "id": instance}}},
            }
        },
        separators=(",", ":"),
    ).encode()


def hex_hmac(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def wait_http(url: str, *, accept: set[int], timeout: float = 60, data: bytes | None = None,
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=2) as r:
                if r.status in accept:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in accept:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer in {timeout:.0f} s")
        time.sleep(0.02)


@dataclass
class Process:
    """A started server process group."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    started: float = field(default_factory=time.monotonic)

    def pids(self) -> list[int]:
        """The process and its children (gunicorn's master and workers)."""
        found = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):  # it has exited
            found += [int(p) for p in children.read_text().split()]
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_fake_github(
    work: Path, *, latency: float = 0.0, limits: tuple[int, int] | None = None
) -> Process:
    """The fake GitHub of the tests, in its own process so it never shares a GIL with the
    load generator. ``limits``: GitHub's secondary limits (per minute, per hour) enforced."""
    port = free_port()
    log = (work / f"github-{port}.log").open("wb")
    args = [sys.executable, str(ROOT / "bench" / "fake_github_server.py"), str(port), str(latency)]
    if limits is not None:
        args += [str(limits[0]), str(limits[1])]
    proc = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ready", accept={401, 404})  # any answer: it is listening
    return Process("github", proc, url)


# The same route, each event enriched from App Store Connect (GET /v1/buildUploads/{id}).
ENRICHED_ROUTES = ROUTES.replace(
    'secret: "${ASC_SECRET}"}', 'secret: "${ASC_SECRET}", enrich: true}'
)


def bridge_env(
    work: Path,
    database_url: str,
    github_url: str,
    *,
    routes: str = ROUTES,
    paced: bool = False,
    **extra: str,
) -> dict[str, str]:
    """bridge's environment for a benchmark. ``paced``: GitHub dispatches paced as shipped
    (``BRIDGE_GITHUB_PER_MINUTE`` / ``_PER_HOUR`` defaults); otherwise raised far above
    GitHub's limits, so that every event is dispatched at once."""
    (work / "routes.yaml").write_text(routes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    if not paced:
        env.update({"BRIDGE_GITHUB_PER_MINUTE": "1000000", "BRIDGE_GITHUB_PER_HOUR": "1000000"})
    env.update(
        {
            "BRIDGE_ROUTES": str(work / "routes.yaml"),
            "DATABASE_URL": database_url,
            "ASC_SECRET": SECRET,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "GITHUB_API_URL": github_url,
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def start_bridge(work: Path, env: dict[str, str], *, first_event: bytes | None = None) -> Process:
    """``bridge serve`` as the Procfile runs it. Ready at the first 202 when ``first_event`` is
    given (cold start: process start → first accepted webhook), else at /healthz."""
    log = (work / f"bridge-{env['PORT']}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1"],
        env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{env['PORT']}"
    if first_event is None:
        wait_http(f"{url}/healthz", accept={200})
    else:
        headers = {"X-Apple-Signature": "hmacsha256=" + hex_hmac(first_event)}
        wait_http(f"{url}/webhooks/ios", accept={202}, data=first_event, headers=headers)
    return Process("bridge", proc, url, started)


def start_bridge_worker_class(work: Path, env: dict[str, str], worker_class: str) -> Process:
    """bridge under its own gunicorn configuration, but another worker class (``-k``): what
    bridge would be with gunicorn's stock ``gthread`` or with ``gevent``."""
    log = (work / f"bridge-{worker_class}-{env['PORT']}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:bridge.gunicorn_conf",
         "-k", worker_class, "bridge:create_app()"],
        env={**env, "HOST": "127.0.0.1"}, cwd=work, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{env['PORT']}"
    wait_http(f"{url}/healthz", accept={200})
    return Process(f"bridge, {worker_class} worker", proc, url, started)


def start_empty_flask(work: Path, env: dict[str, str]) -> Process:
    """bench/empty_app.py under gunicorn with bridge's gunicorn configuration."""
    log = (work / "empty-flask.log").open("wb")
    started = time.monotonic()
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:bridge.gunicorn_conf",
         "--bind", f"127.0.0.1:{env['PORT']}", "bench.empty_app:app"],
        env={**env, "PYTHONPATH": root}, cwd=root, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{env['PORT']}"
    wait_http(f"{url}/webhooks/ios", accept={202}, data=b"{}", headers={})
    return Process("Flask + gunicorn, empty handler", proc, url, started)


def start_adnanh(work: Path) -> Process | None:
    """adnanh/webhook with the equivalent rule: HMAC-SHA256 of the body in a header (its
    ``sha256=`` prefix, where Apple writes ``hmacsha256=``), then run a trivial command."""
    binary = shutil.which("webhook")
    if binary is None:
        return None
    hooks = [
        {
            "id": "ios",
            "execute-command": "/bin/true",
            "trigger-rule": {
                "match": {
                    "type": "payload-hmac-sha256",
                    "secret": SECRET,
                    "parameter": {"source": "header", "name": "X-Hub-Signature-256"},
                }
            },
        }
    ]
    (work / "hooks.json").write_text(json.dumps(hooks))
    port = free_port()
    log = (work / "adnanh.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [binary, "-hooks", str(work / "hooks.json"), "-ip", "127.0.0.1", "-port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    body = event_body("warm-up")
    headers = {"X-Hub-Signature-256": "sha256=" + hex_hmac(body)}
    wait_http(f"{url}/hooks/ios", accept={200}, data=body, headers=headers)
    return Process("adnanh/webhook", proc, url, started)
