"""Rules of the package layout: what bridge/providers and bridge/routing may import, and how
long their modules may grow. Providers turn bytes into events and routing decides what an
event triggers; neither may depend on HTTP, storage, delivery or the user interface."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[1] / "bridge"

# package -> the bridge modules (and their submodules) it may import
ALLOWED = {
    "providers": {"bridge.providers", "bridge.events", "bridge.errors"},
    "routing": {
        "bridge.routing",
        "bridge.providers",
        "bridge.events",
        "bridge.errors",
        "bridge.config",
    },
}
MAX_LINES = 300
MODULES = sorted(
    p.relative_to(BRIDGE).as_posix() for package in ALLOWED for p in (BRIDGE / package).glob("*.py")
)


def bridge_imports(source: str) -> set[str]:
    """Every ``bridge`` module ``source`` imports, at any depth (functions and TYPE_CHECKING
    blocks included); ``from bridge import x`` counts as ``bridge.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "bridge":
            found |= {f"bridge.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            raise AssertionError(f"relative import at line {node.lineno}: write bridge.…")
    return {name for name in found if name == "bridge" or name.startswith("bridge.")}


def allowed(name: str, package: str) -> bool:
    return any(name == ok or name.startswith(ok + ".") for ok in ALLOWED[package])


def test_bridge_imports_sees_every_form() -> None:
    source = (
        "import bridge.store\n"
        "from bridge import app\n"
        "from bridge.ui.auth import guard\n"
        "import json\n"
        "def later():\n"
        "    from bridge.delivery import github\n"
    )
    assert bridge_imports(source) == {
        "bridge.store",
        "bridge.app",
        "bridge.ui.auth",
        "bridge.delivery",
    }
    assert not allowed("bridge.store", "routing")
    assert not allowed("bridge.providersx", "routing")
    assert allowed("bridge.providers.pgyer", "routing")


@pytest.mark.parametrize("module", MODULES)
def test_imports_stay_inside_the_allowed_packages(module: str) -> None:
    package = module.partition("/")[0]
    imported = bridge_imports((BRIDGE / module).read_text(encoding="utf-8"))
    assert {name for name in imported if not allowed(name, package)} == set()


@pytest.mark.parametrize("module", MODULES)
def test_modules_stay_small(module: str) -> None:
    lines = (BRIDGE / module).read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines; split it by responsibility"
