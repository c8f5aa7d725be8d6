"""The `bridge` command, run in-process through click's runner against real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from bridge.cli import cli
from bridge.store.migrations import POSTGRES_MIGRATIONS
from tests.support.app import bridge
from tests.support.samples import SAMPLES, sample, signed


def run(environ: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)


def test_check_ok_lists_sources_and_routes(environ: dict[str, str], routes_file: Path) -> None:
    # (the fixture's route `rejected` renders {{ payload.not_there }}: check fails on it)
    routes_file.write_text(routes_file.read_text().replace("{{ payload.not_there }}", "x"))
    result = run(environ, "check")
    assert result.exit_code == 0
    assert "OK, 2 source(s), 5 route(s)" in result.output
    assert "source ios (appstoreconnect): POST /webhooks/ios" in result.output
    assert "route version-live: acme/ios workflow_dispatch release.yml@main" in result.output
    assert "dry run" in result.output


def test_check_fails_with_file_line_and_problem(environ: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sources:\n  ios:\n    provider: appstoreconnect\n    secret: s\nroutes:\n  - name: x\n    evnt: y\n"
    )
    result = run(environ, "--routes", str(bad), "check")
    assert result.exit_code == 1
    assert f"{bad}:7: routes[0]: unknown key 'evnt'" in result.output


def test_check_names_an_unset_or_empty_secret(environ: dict[str, str]) -> None:
    # check verifies no signature: it runs, and names what the server will need.
    for value in (None, ""):
        result = CliRunner().invoke(cli, ["check"], env={**environ, "PGYER_TOKEN": value})
        assert "note: PGYER_TOKEN not set: not needed here; the server will need it" in (
            result.output
        )
        assert environ["ASC_SECRET"] not in result.output


def test_simulate_shows_what_would_be_sent(environ: dict[str, str]) -> None:
    path = str(SAMPLES / "appstoreconnect/app-version-ready-for-distribution.json")
    result = run(environ, "simulate", "ios", path)
    assert result.exit_code == 0
    output = json.loads(result.output)
    assert output["event"]["new_state"] == "READY_FOR_DISTRIBUTION"
    assert [r["route"] for r in output["routes"]] == ["version-live", "version-live-notes"]
    assert output["routes"][0]["request"]["body"]["inputs"] == {
        "version_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
    }


def test_simulate_reports_render_errors_per_route(environ: dict[str, str]) -> None:
    path = str(SAMPLES / "appstoreconnect/app-version-rejected.json")
    result = run(environ, "simulate", "ios", path)
    assert result.exit_code == 1
    assert "cannot render rejected: the delivery would fail" in result.stderr
    output = json.loads(result.stdout)
    [route] = output["routes"]
    assert route["route"] == "rejected"
    assert "not_there" in route["error"]


def test_simulate_reads_stdin_and_rejects_bad_input(environ: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["simulate", "beta", "-"], env=environ, input=b"[]")
    assert result.exit_code == 1
    assert "must be a JSON object" in result.output
    result = CliRunner().invoke(cli, ["simulate", "nope", "-"], env=environ, input=b"{}")
    assert result.exit_code == 1
    assert "unknown source 'nope'" in result.output


def test_events_and_replay(app: Flask, environ: dict[str, str]) -> None:
    client = app.test_client()
    body = sample("appstoreconnect/build-upload-complete.json")
    client.post("/webhooks/ios", data=body, headers=signed(body))
    bridge(app).dispatcher.run_once()  # dry run: recorded, not sent

    listing = run(environ, "events")
    assert "ios  buildUploadStateUpdated PROCESSING→COMPLETE  0b9a7c1e" in listing.output
    assert "dry_run   build-complete  attempts=1" in listing.output

    as_json = [json.loads(line) for line in run(environ, "events", "--json").output.splitlines()]
    assert as_json[0]["deliveries"][0]["state"] == "dry_run"

    replayed = run(environ, "replay", "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d")
    assert replayed.output.strip() == "queued 1 delivery again"
    assert (
        "pending" in run(environ, "events", "--id", "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d").output
    )
    assert run(environ, "replay", "--failed").output.strip() == "queued 0 deliveries again"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give either EVENT_ID or --failed"),
        (("x", "--failed"), "give either"),
        (("missing",), "no event with id 'missing'"),
    ],
)
def test_replay_usage_errors(
    app: Flask, environ: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    result = CliRunner().invoke(cli, ["replay", *args], env=environ)
    assert result.exit_code != 0
    assert message in result.output


def test_db_upgrade_creates_the_schema_on_postgres(
    environ: dict[str, str], postgres_url: str
) -> None:
    env = {**environ, "DATABASE_URL": postgres_url}
    expected = f"database schema at version {len(POSTGRES_MIGRATIONS)}"
    assert run(env, "db", "upgrade").output.strip() == expected
    assert run(env, "db", "upgrade").output.strip() == expected
    assert run(env, "events").output.strip() == "no events"


def test_db_upgrade_says_why_it_cannot_connect(environ: dict[str, str]) -> None:
    env = {**environ, "DATABASE_URL": "postgres://bridge:pw-never-shown@127.0.0.1:1/bridge"}
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert "PostgreSQL store: cannot connect" in result.output
    assert "pw-never-shown" not in result.output


def test_prune_keeps_pending_and_failed(app: Flask, environ: dict[str, str]) -> None:
    client = app.test_client()
    body = sample("appstoreconnect/build-upload-complete.json")
    client.post("/webhooks/ios", data=body, headers=signed(body))
    assert run(environ, "prune", "--older-than", "0s", "--yes").output.startswith(
        "0 events received before"  # still pending
    )
    bridge(app).dispatcher.run_once()  # dry run: finished
    assert run(environ, "prune", "--older-than", "1h", "--yes").output.startswith(
        "0 events received before"  # too recent
    )
    assert (
        run(environ, "prune", "--older-than", "0s", "--yes")
        .output.strip()
        .endswith("pruned 1 event older than 0s")
    )
    assert run(environ, "events").output.strip() == "no events"
    bad = CliRunner().invoke(cli, ["prune", "--older-than", "soon"], env=environ)
    assert bad.exit_code == 2
    assert "is not a duration" in bad.output


def test_events_empty(environ: dict[str, str]) -> None:
    run(environ, "db", "upgrade")  # (events reads a database; it creates none)
    assert run(environ, "events").output.strip() == "no events"


def test_send_refuses_unknown_source_and_bad_url(environ: dict[str, str]) -> None:
    path = str(SAMPLES / "pgyer/update-version.json")
    assert (
        "unknown source"
        in CliRunner().invoke(cli, ["send", "x", path, "--url", "http://h"], env=environ).output
    )
    result = CliRunner().invoke(cli, ["send", "beta", path, "--url", "ftp://h"], env=environ)
    assert result.exit_code == 1
    assert "http:// or https://" in result.output


def test_version_and_module_entry_point(environ: dict[str, str]) -> None:
    assert run(environ, "--version").output.startswith("bridge, version ")
