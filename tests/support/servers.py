"""Real bridge processes for tests: `python -m bridge serve` (gunicorn, the production shape)
and `python -m bridge worker`, on a free port of 127.0.0.1, with the environment they need."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


def process_env(environ: Mapping[str, str], **overrides: str) -> dict[str, str]:
    """The environment of a bridge process: this process's own (PATH, and what measures
    coverage) without any BRIDGE_, GITHUB_ or ASC_ variable, then ``environ``, a free
    ``PORT``, then ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_", "ASC_"))}
    env.update(environ)
    env["PORT"] = str(free_port())
    env.update(overrides)
    return env


class Server:
    """A `python -m bridge serve` process group; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bridge serve exited:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"bridge serve did not become healthy:\n{self.log.read_text()}")

    def kill9(self) -> None:
        """Crash: SIGKILL the gunicorn master and every worker at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, object]]:
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


class Worker:
    """A `python -m bridge worker` process (the Procfile's ``worker``): the dispatcher, and
    the reconcile job when configured, without HTTP. Its output goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**env, "PYTHONUNBUFFERED": "1"}  # its first line tells it is running
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "worker"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if "bridge worker " in self.log.read_text():
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"bridge worker exited:\n{self.log.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"bridge worker did not start:\n{self.log.read_text()}")

    def stop(self) -> int | None:
        """SIGTERM, as the platform stops a dyno; returns the exit status (None: killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
                return None
        return self.proc.returncode
