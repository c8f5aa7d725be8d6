"""`bridge prune` and durations: a number without a unit is refused everywhere, and prune says
what it would delete and asks before deleting (the delivery log is also the duplicate
protection)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from bridge.cli import cli
from bridge.config import Settings
from bridge.errors import ConfigError
from tests.support.app import bridge
from tests.support.samples import sample, signed


def prune(environ: dict[str, str], *args: str, answer: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["prune", *args], env=environ, input=answer)


def one_finished_event(app: Flask) -> None:
    body = sample("appstoreconnect/build-upload-complete.json")
    assert app.test_client().post("/webhooks/ios", data=body, headers=signed(body)).status_code
    bridge(app).dispatcher.run_once()  # dry run: finished, so prunable


def stored_events(environ: dict[str, str]) -> str:
    return CliRunner().invoke(cli, ["events"], env=environ).output


@pytest.mark.parametrize(
    "var",
    [
        "BRIDGE_RETENTION",
        "BRIDGE_RETRY_HORIZON",
        "BRIDGE_RETRY_MAX_DELAY",
        "BRIDGE_LEASE",
        "BRIDGE_POLL_INTERVAL",
        "BRIDGE_GITHUB_TIMEOUT",
        "BRIDGE_ASC_TIMEOUT",
        "BRIDGE_RECONCILE_INTERVAL",
        "BRIDGE_RECONCILE_WINDOW",
    ],
)
def test_a_duration_without_a_unit_is_refused_with_what_to_write(var: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({var: "30"})
    assert str(caught.value) == f"{var}='30' needs a unit: write 30s, 30m, 30h or 30d"


def test_prune_without_a_unit_deletes_nothing(app: Flask, environ: dict[str, str]) -> None:
    one_finished_event(app)
    result = prune(environ, "--older-than", "30", "--yes")
    assert result.exit_code == 2
    assert "needs a unit: write 30s, 30m, 30h or 30d" in result.output
    assert "buildUploadStateUpdated" in stored_events(environ)


def test_prune_dry_run_says_how_many_and_deletes_nothing(
    app: Flask, environ: dict[str, str]
) -> None:
    one_finished_event(app)
    result = prune(environ, "--older-than", "0s", "--dry-run")
    assert result.exit_code == 0
    assert result.output.startswith("1 event received before ")
    assert "would be deleted (pending deliveries are kept, and failed ones)" in result.output
    assert "pruned" not in result.output
    assert "buildUploadStateUpdated" in stored_events(environ)


def test_prune_asks_and_a_no_keeps_everything(app: Flask, environ: dict[str, str]) -> None:
    one_finished_event(app)
    result = prune(environ, "--older-than", "0s", answer="n\n")
    assert result.exit_code == 1
    assert "is no longer recognised as a duplicate" in result.output
    assert "delete 1 event? [y/N]" in result.output
    assert "nothing deleted (add --yes to delete without asking)" in result.output
    assert "buildUploadStateUpdated" in stored_events(environ)


def test_prune_without_a_terminal_or_yes_deletes_nothing(
    app: Flask, environ: dict[str, str]
) -> None:
    one_finished_event(app)
    result = prune(environ, "--older-than", "0s")  # no input: a cron job without --yes
    assert result.exit_code == 1
    assert "nothing deleted" in result.output
    assert "buildUploadStateUpdated" in stored_events(environ)


def test_prune_deletes_after_a_yes(app: Flask, environ: dict[str, str]) -> None:
    one_finished_event(app)
    result = prune(environ, "--older-than", "0s", answer="y\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("pruned 1 event older than 0s")
    assert stored_events(environ).strip() == "no events"
