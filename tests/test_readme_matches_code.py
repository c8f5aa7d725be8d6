"""The README's CLI block and environment tables say what the code does: every command and
option it shows exists, every command exists in it, and the variables of its tables are the
ones the code reads (and the other way round)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bridge.cli import cli
from tests.support.environment import code_variables

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
# Read by the code but set by the platforms, not by people: the README says "on Heroku and
# Render" instead of naming them.
PLATFORM_SET = {"DYNO", "RENDER"}


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def cli_lines() -> list[str]:
    block = section("CLI").split("```\n", 2)[1]
    return [
        line.split("#", 1)[0].strip() for line in block.splitlines() if line.startswith("bridge ")
    ]


def resolve(words: list[str]) -> list[click.Command]:
    """The commands a README line names (``list|create`` names several)."""
    found: list[click.Command] = [cli]
    for word in words:
        if not isinstance(found[0], click.Group) or not re.fullmatch(r"[a-z|-]+", word):
            break
        names = word.split("|")
        group = found[0]
        if not all(name in group.commands for name in names):
            break
        found = [group.commands[name] for name in names]
    assert found[0] is not cli
    return found


def envvars() -> set[str]:
    """Variables click options read (``envvar=``), in every command."""
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            names.update([envvar] if isinstance(envvar, str) else envvar or [])
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli)
    return names


@pytest.mark.parametrize("line", cli_lines())
def test_every_command_and_option_in_the_readme_exists(line: str) -> None:
    words = line.split()[1:]
    commands = resolve(words)
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    for command in commands:
        known = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert options <= known, (line, options - known)


def test_every_command_is_in_the_readme() -> None:
    shown = {line.split()[1] for line in cli_lines()}
    assert shown == set(cli.commands)


def test_the_environment_tables_are_what_the_code_reads() -> None:
    tables = (
        section("Environment")
        + section("GitHub credentials")
        + section("App Store Connect API key")
    )
    rows = [line for line in tables.splitlines() if line.startswith("| `")]
    documented = {
        name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]{2,})`", row.split("|")[1])
    }
    read = (code_variables() | envvars()) - PLATFORM_SET
    assert documented - read == set(), "documented but not read"
    assert read - documented == set(), "read but not documented"
