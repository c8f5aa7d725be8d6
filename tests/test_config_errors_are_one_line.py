"""A configuration error stops a real gunicorn (the Procfile's command) once, in the master:
one line per problem, valid JSON with LOG_FORMAT=json, no traceback, exit status 1; and
`bridge serve` / `bridge worker` the same way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.servers import free_port

ROOT = Path(__file__).parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:bridge.gunicorn_conf"]
PROCFILE_WEB = [*GUNICORN, "bridge:create_app()"]


def run(command: list[str], tmp_path: Path, **extra: str) -> tuple[int, list[str]]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PORT": str(free_port()),
        "WEB_CONCURRENCY": "2",
        "BRIDGE_ROUTES": str(ROOT / "routes.yaml"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        **extra,
    }
    done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    lines = (done.stdout + done.stderr).decode().splitlines()
    return done.returncode, lines


def objects(lines: list[str]) -> list[dict[str, str]]:
    """Every line as a JSON object (a line that is not one fails the test)."""
    return [json.loads(line) for line in lines]


SECRETS = {"ASC_WEBHOOK_SECRET": "s", "PGYER_WEBHOOK_TOKEN": "t", "BRIDGE_DRY_RUN": "1"}


@pytest.mark.parametrize(
    ("extra", "problems"),
    [
        pytest.param(
            {},
            [
                "ASC_WEBHOOK_SECRET is not set (and no default given)",
                "PGYER_WEBHOOK_TOKEN is not set (and no default given)",
            ],
            id="routes",
        ),
        pytest.param(
            {**SECRETS, "BRIDGE_RETENTION": "30"},
            ["BRIDGE_RETENTION='30' needs a unit: write 30s, 30m, 30h or 30d"],
            id="settings",
        ),
        pytest.param(
            {**SECRETS, "BRIDGE_DRY_RUN": "0"},
            ["routes.yaml dispatches to GitHub but no credentials are set"],
            id="credentials",
        ),
        pytest.param(
            {**SECRETS, "DATABASE_URL": "mysql://db/bridge"},
            ["DATABASE_URL: unsupported scheme 'mysql'"],
            id="database-url",
        ),
    ],
)
def test_the_procfile_gunicorn_says_it_once_in_json(
    tmp_path: Path, extra: dict[str, str], problems: list[str]
) -> None:
    status, lines = run(PROCFILE_WEB, tmp_path, **extra)
    assert status == 1
    refusals = [o["message"] for o in objects(lines) if o["level"] == "error"]
    assert len(refusals) == len(problems), lines
    for refusal, problem in zip(refusals, problems, strict=True):
        assert refusal.startswith("cannot start: ")
        assert problem in refusal
    assert not any("Traceback" in line or "Booting worker" in line for line in lines)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_bridge_serve_and_worker_say_it_once_in_json(tmp_path: Path, command: str) -> None:
    status, lines = run([sys.executable, "-m", "bridge", command], tmp_path)
    assert status == 1
    messages = [o["message"] for o in objects(lines)]
    assert len(messages) == 2
    for message, variable in zip(
        messages, ["ASC_WEBHOOK_SECRET", "PGYER_WEBHOOK_TOKEN"], strict=True
    ):
        assert message.startswith(f"cannot start: {ROOT / 'routes.yaml'}:")
        assert message.endswith(
            f"environment variable {variable} is not set (and no default given)"
        )


def test_text_mode_is_one_readable_line_per_problem(tmp_path: Path) -> None:
    status, lines = run(PROCFILE_WEB, tmp_path, LOG_FORMAT="text", BRIDGE_LEASE="60")
    assert status == 1
    errors = [line for line in lines if " ERROR " in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        "ERROR bridge: cannot start: BRIDGE_LEASE='60' needs a unit: write 60s, 60m, 60h or 60d"
    )
    assert not any("Traceback" in line for line in lines)
