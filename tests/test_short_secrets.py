"""A webhook secret or token shorter than 16 characters stops bridge at start, naming the
source and never the value: it is all that stands between the internet and the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge import create_app
from bridge.errors import ConfigError

ROUTES = """\
sources:
  ios:
    provider: appstoreconnect
    secrets: ["${ASC_SECRET}", "short-secret"]
  beta:
    provider: pgyer
    token: "0123456789abcdef"
routes: []
"""


def test_a_short_secret_stops_the_app(environ: dict[str, str], tmp_path: Path) -> None:
    routes = tmp_path / "short.yaml"
    routes.write_text(ROUTES)
    with pytest.raises(ConfigError) as raised:
        create_app(environ={**environ, "BRIDGE_ROUTES": str(routes)})
    message = str(raised.value)
    assert "of ios is shorter than 16 characters" in message
    assert "short-secret" not in message and "beta" not in message  # 16 characters pass


def test_a_short_secret_stops_bridge_worker(environ: dict[str, str], tmp_path: Path) -> None:
    routes = tmp_path / "short.yaml"
    routes.write_text(ROUTES)
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "worker"],
        env={**environ, "BRIDGE_ROUTES": str(routes), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "shorter than 16 characters" in result.stderr + result.stdout
    assert "short-secret" not in result.stderr + result.stdout
