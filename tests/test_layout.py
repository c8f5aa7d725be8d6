"""The test suite's own layout: shared code lives in tests/support/ and tests/fakes/, fixtures
in tests/conftest.py; a test module never imports another test module, nor conftest.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MODULES = sorted(TESTS.glob("test_*.py"))


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, as absolute dotted names (``from . import x`` in
    tests/ is ``tests.x``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "tests" if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


def forbidden(module: str) -> bool:
    parts = module.split(".")
    return (
        len(parts) >= 2
        and parts[0] == "tests"
        and (parts[1].startswith("test_") or parts[1] == "conftest")
    )


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_a_test_module_imports_no_other_test_module_nor_conftest(path: Path) -> None:
    offending = sorted({m for m in imported_modules(path) if forbidden(m)})
    assert offending == [], (
        f"{path.name} imports {', '.join(offending)}: move what is shared to tests/support/ "
        "or tests/fakes/ (or make it a fixture in tests/conftest.py)"
    )


@pytest.mark.parametrize(
    ("source", "offending"),
    [
        ("from tests.test_admin_auth import TOKEN", True),
        ("from tests.conftest import sample", True),
        ("import tests.test_dispatcher", True),
        ("from tests import test_dispatcher", True),
        ("from . import conftest", True),
        ("from .test_web import post_asc", True),
        ("from tests.support.auth import TOKEN", False),
        ("from tests.fakes.github import FakeGitHub", False),
        ("import pytest", False),
    ],
)
def test_the_check_finds_every_form_of_import(tmp_path: Path, source: str, offending: bool) -> None:
    path = tmp_path / "test_example.py"
    path.write_text(source + "\n")
    assert any(forbidden(m) for m in imported_modules(path)) is offending


def test_conftest_holds_only_fixtures() -> None:
    tree = ast.parse((TESTS / "conftest.py").read_text())
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    not_fixtures = [
        f.name
        for f in functions
        if not any("fixture" in ast.unparse(decorator) for decorator in f.decorator_list)
    ]
    others = [
        ast.unparse(n).splitlines()[0]
        for n in tree.body
        if isinstance(n, ast.ClassDef | ast.Assign | ast.AnnAssign)
    ]
    assert functions
    assert not_fixtures == [] and others == [], (
        "conftest.py keeps fixtures only: move helpers and constants to tests/support/"
    )
