"""The Makefile's .venv: made by a Python 3.11 or newer, and rebuilt (never reused) when
another Python made it. Run on a copy of the Makefile in a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
VERSION = "{}.{}".format(*sys.version_info[:2])


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(folder), *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def fake_python(path: Path, version: str) -> Path:
    """A `python` that says it is ``version`` and fails the 3.11 check when older."""
    path.parent.mkdir(parents=True, exist_ok=True)
    older = tuple(int(part) for part in version.split(".")) < (3, 11)
    path.write_text(
        f'#!/bin/sh\ncase "$*" in *sys.exit*) exit {1 if older else 0};; esac\necho {version}\n'
    )
    path.chmod(0o755)
    return path


def test_a_venv_made_by_another_python_is_rebuilt(tmp_path: Path) -> None:
    fake_python(tmp_path / ".venv" / "bin" / "python", "3.9")
    result = make(tmp_path, f".venv/.python-{VERSION}", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f".venv was made by another Python: rebuilding it with {sys.executable} ({VERSION})" in (
        result.stdout
    )
    rebuilt = subprocess.run(
        [str(tmp_path / ".venv" / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert rebuilt.stdout.strip() == str(sys.version_info[:2])


def test_a_venv_of_the_same_python_is_kept(tmp_path: Path) -> None:
    first = make(tmp_path, f".venv/.python-{VERSION}", f"PYTHON={sys.executable}")
    assert first.returncode == 0, first.stderr
    (tmp_path / ".venv" / "kept").touch()
    (tmp_path / ".venv" / f".python-{VERSION}").unlink()
    again = make(tmp_path, f".venv/.python-{VERSION}", f"PYTHON={sys.executable}")
    assert again.returncode == 0, again.stderr
    assert "rebuilding" not in again.stdout
    assert (tmp_path / ".venv" / "kept").exists()


def test_an_old_python_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = fake_python(tmp_path / "bin" / "python3", "3.9")
    (tmp_path / "pyproject.toml").touch()
    result = make(tmp_path, "run", f"PYTHON={old}")
    assert result.returncode != 0
    assert f"bridge needs Python 3.11 or newer; {old} is 3.9: run make PYTHON=python3.12" in (
        result.stdout
    )
    assert not (tmp_path / ".venv").exists()
