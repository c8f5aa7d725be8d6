"""Commands that read the database never create one: `bridge events` in the wrong folder, or
with a DATABASE_URL naming a folder that does not exist, says there is no database instead of
leaving an empty one (and the folder) behind. Only `serve`, `worker` and `db upgrade` create."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.cli import cli

READERS = [
    ["events"],
    ["events", "--json"],
    ["replay", "--failed"],
    ["prune", "--older-than", "1d", "--yes"],
]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_reader_in_another_folder_creates_no_database(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args, env={"DATABASE_URL": None, "BRIDGE_ROUTES": None})
    assert result.exit_code == 1
    assert f"no database at {tmp_path / 'bridge.db'}: it is created when `bridge serve`" in (
        result.output
    )
    assert list(tmp_path.iterdir()) == []


def test_a_reader_creates_no_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nonexistent-dir' / 'x.db'}"
    result = CliRunner().invoke(cli, ["events"], env={"DATABASE_URL": url})
    assert result.exit_code == 1
    assert "no database at" in result.output
    assert not (tmp_path / "nonexistent-dir").exists()


def test_db_upgrade_creates_and_then_readers_read(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'bridge.db'}"
    upgrade = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert upgrade.exit_code == 0, upgrade.output
    assert (tmp_path / "data" / "bridge.db").is_file()
    events = CliRunner().invoke(cli, ["events"], env={"DATABASE_URL": url})
    assert events.output.strip() == "no events"
