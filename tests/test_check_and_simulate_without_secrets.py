"""`bridge check` and `bridge simulate` verify no signature: they run without the sources'
secrets (as the README's "without a server" promises) and name the ones the server needs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bridge.cli import cli
from tests.support.samples import SAMPLES

SHIPPED = Path(__file__).parent.parent / "routes.yaml"


def env(tmp_path: Path) -> dict[str, str]:
    return {"BRIDGE_ROUTES": str(SHIPPED), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}


def test_check_runs_without_secrets_and_names_them(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check"], env=env(tmp_path))
    assert result.exit_code == 0, result.output
    assert (
        "note: ASC_WEBHOOK_SECRET, PGYER_WEBHOOK_TOKEN not set: not needed here; the server "
        "will need them"
    ) in result.stderr
    assert ": OK, 2 source(s), 7 route(s)" in result.stdout


def test_check_still_refuses_other_unset_variables(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        SHIPPED.read_text().replace("${IOS_REPOSITORY:-acme/ios-app}", "${IOS_REPOSITORY}")
    )
    result = CliRunner().invoke(cli, ["--routes", str(routes), "check"], env=env(tmp_path))
    assert result.exit_code == 1
    assert "environment variable IOS_REPOSITORY is not set" in result.output
    assert "ASC_WEBHOOK_SECRET is not set" not in result.output


def test_a_set_secret_is_not_named(tmp_path: Path) -> None:
    environ = {**env(tmp_path), "ASC_WEBHOOK_SECRET": "x"}
    result = CliRunner().invoke(cli, ["check"], env=environ)
    assert "note: PGYER_WEBHOOK_TOKEN not set: not needed here; the server will need it" in (
        result.stderr
    )


def test_simulate_as_the_readme_writes_it_without_secrets(tmp_path: Path) -> None:
    body = str(SAMPLES / "appstoreconnect" / "build-upload-complete.json")
    result = CliRunner().invoke(cli, ["simulate", "ios-app", body], env=env(tmp_path))
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert [r["route"] for r in output["routes"]] == ["submit-for-review"]
    not_matched = {item["route"]: item["why"] for item in output["not_matched"]}
    assert not_matched["build-failed"] == ["to is 'COMPLETE', the route wants 'FAILED'"]
    assert "pgyer-new-build" not in not_matched  # another source's route is no candidate
    assert not (tmp_path / "x.db").exists()  # a preview creates no database
