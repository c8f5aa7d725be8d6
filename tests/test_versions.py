"""The version is written once (bridge/version.py) and the CHANGELOG is ready for a tag: an
Unreleased section on top, then one `## X.Y.Z — YYYY-MM-DD` heading per version, newest
first, the newest at most the version in bridge/version.py."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from bridge.cli import cli
from bridge.version import __version__

ROOT = Path(__file__).parent.parent
HEADING = re.compile(r"^## (?:Unreleased|(\d+)\.(\d+)\.(\d+) — \d{4}-\d{2}-\d{2})$")


def versions() -> list[tuple[int, int, int]]:
    found = []
    for line in (ROOT / "CHANGELOG.md").read_text().splitlines():
        if line.startswith("## "):
            match = HEADING.match(line)
            assert match, f"not a version heading: {line!r}"
            if match.group(1):
                found.append((int(match.group(1)), int(match.group(2)), int(match.group(3))))
    return found


def test_the_version_is_semantic_and_shown_by_the_cli() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output.strip() == f"bridge, version {__version__}"


def test_the_changelog_starts_with_unreleased_and_has_upgrading_notes() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Unreleased"
    unreleased = text.split("## Unreleased\n", 1)[1].split("\n## ", 1)[0]
    assert "\n### Upgrading\n" in unreleased


def test_released_versions_are_newest_first_and_not_ahead_of_the_code() -> None:
    released = versions()
    assert released == sorted(released, reverse=True)
    code = tuple(int(part) for part in __version__.split("."))
    assert all(version <= code for version in released)


def test_the_readme_says_how_to_upgrade() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Upgrading\n", 1)[1].split("\n## ", 1)[0]
    for needed in ("BRIDGE_ROUTES=", "release: bridge db upgrade", "CHANGELOG.md", "--strict"):
        assert needed in section
