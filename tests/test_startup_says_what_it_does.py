"""What a process says when it starts, and the example placeholders it warns about: `make run`
is a dry run even with a GITHUB_TOKEN in the shell, the start-up line says dry run or live,
the routes file, the database and the repositories, and a route still aimed at the example
repository (``${IOS_REPOSITORY:-acme/ios-app}`` with the variable unset or empty) is a warning
at `bridge check`, at start and on /readyz."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge import create_app
from bridge.cli import cli
from bridge.config import Settings
from bridge.routing.load import load_routes
from bridge.startup import database_for_humans, summary
from tests.support.app import bridge
from tests.support.servers import free_port

ROOT = Path(__file__).parent.parent
SHIPPED = ROOT / "routes.yaml"
SECRETS = {
    "ASC_WEBHOOK_SECRET": "local-asc-secret-0123",
    "PGYER_WEBHOOK_TOKEN": "local-pgyer-token-0123",
}


def shipped_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **SECRETS,
        "BRIDGE_ROUTES": str(SHIPPED),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "BRIDGE_DRY_RUN": "1",
        "BRIDGE_DISPATCHER": "0",
        **extra,
    }


def test_make_run_is_a_dry_run_with_a_github_token_in_the_shell(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_TOKEN": "ghp_a-real-looking-token",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    (tmp_path / "metrics").mkdir()
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        # -o: the virtualenv counts as up to date (a test never reinstalls it).
        made_by = ".venv/.python-{}.{}".format(*sys.version_info[:2])
        keep = ["-o", made_by, "-o", ".venv/.installed-run", "-o", ".venv/.installed"]
        proc = subprocess.Popen(
            ["make", "--no-print-directory", *keep, "run"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "repositories" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        text = log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert "dry run: nothing is sent; make run LIVE=1 to send" in text
    (line,) = [line for line in text.splitlines() if "bridge " in line and " web: " in line]
    assert "web: DRY RUN (deliveries are recorded, nothing is sent; BRIDGE_DRY_RUN)" in line
    assert f"routes {SHIPPED.name} (2 source(s), 7 route(s))" in line
    assert f"database sqlite:///{tmp_path / 'bridge.db'}" in line
    assert "repositories acme/android-app, acme/ios-app" in line
    assert "7 route(s) use an example placeholder repository" in line
    assert "ghp_a-real-looking-token" not in text


def test_the_start_up_line_says_live_and_hides_the_database_password(tmp_path: Path) -> None:
    env = shipped_env(tmp_path, IOS_REPOSITORY="team/ios", ANDROID_REPOSITORY="team/android")
    settings = Settings.from_env(
        {
            **env,
            "BRIDGE_DRY_RUN": "0",
            "DATABASE_URL": "postgres://bridge:hunter2@db.internal:5432/bridge?sslmode=require",
        }
    )
    line = summary(settings, load_routes(SHIPPED, env), process="worker")
    assert "worker: LIVE (dispatches are sent to https://api.github.com)" in line
    assert "database postgres://bridge:***@db.internal:5432/bridge?…" in line
    assert "repositories team/android, team/ios" in line
    assert "placeholder" not in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///data/bridge.db", "sqlite:///data/bridge.db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgres://u:p%40ss@h:5/db", "postgres://u:***@h:5/db"),
        ("postgres://h/db?password=x", "postgres://h/db?…"),
    ],
)
def test_database_urls_are_shown_without_secrets(url: str, shown: str) -> None:
    assert database_for_humans(url) == shown


@pytest.mark.parametrize("value", [None, ""])
def test_check_warns_about_example_repositories(tmp_path: Path, value: str | None) -> None:
    env = shipped_env(tmp_path, ANDROID_REPOSITORY="team/android")
    if value is not None:
        env["IOS_REPOSITORY"] = value  # set but empty, as a deploy form leaves it
    result = CliRunner().invoke(cli, ["check"], env=env)
    assert result.exit_code == 0
    warnings = [line for line in result.output.splitlines() if "example placeholder" in line]
    assert len(warnings) == 6  # every iOS route; the Android one has its repository
    lines = SHIPPED.read_text().splitlines()
    first = next(n for n, text in enumerate(lines, 1) if "${IOS_REPOSITORY" in text)
    assert warnings[0] == (
        f"warning: {SHIPPED}:{first}: routes[0].dispatch.repository: IOS_REPOSITORY is unset or "
        "empty, so this route uses the example placeholder 'acme/ios-app': set IOS_REPOSITORY "
        "(deliveries to it would fail)"
    )


def test_no_placeholder_warning_once_the_repositories_are_set(tmp_path: Path) -> None:
    env = shipped_env(tmp_path, IOS_REPOSITORY="team/ios", ANDROID_REPOSITORY="team/android")
    result = CliRunner().invoke(cli, ["check"], env=env)
    assert result.exit_code == 0
    assert "placeholder" not in result.output


def test_readyz_and_the_start_up_log_name_the_placeholders(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = shipped_env(tmp_path, IOS_REPOSITORY="team/ios")  # ANDROID_REPOSITORY unset
    with caplog.at_level(logging.INFO, logger="bridge.app"):
        app = create_app(environ=env)
    try:
        response = app.test_client().get("/readyz")
    finally:
        bridge(app).close()
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "warnings": [
            "route pgyer-new-build: ANDROID_REPOSITORY is unset or empty, so this route uses "
            "the example placeholder 'acme/android-app': set ANDROID_REPOSITORY (deliveries "
            "to it would fail)"
        ],
    }
    logged = [r.getMessage() for r in caplog.records]
    assert any("1 route(s) use an example placeholder repository" in m for m in logged)
    assert any("ANDROID_REPOSITORY is unset or empty" in m for m in logged)
