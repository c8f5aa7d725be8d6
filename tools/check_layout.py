"""Keeps bridge's layout honest (``make lint``): no import cycle among bridge's modules, and no
module over 300 lines.

Every import counts, wherever it stands: at module level, inside a function, or under
``if TYPE_CHECKING:``. A cycle dodged that way is still a cycle for whoever reads the code.

Usage: ``python tools/check_layout.py [PACKAGE_DIR]`` (default: bridge). Exit 1 on a finding.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_LINES = 300


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(
    tree: ast.AST, here: str, is_package: bool, modules: set[str] | dict[str, Path]
) -> Iterator[str]:
    """Every module name ``tree`` imports, absolute, whatever the block it stands in:
    ``from a import b`` imports the module ``a.b`` when there is one, else (a name defined
    in it) the module ``a``."""
    package = here if is_package else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in modules else base


def graph(root: Path) -> dict[str, set[str]]:
    files = {module_name(root, p): p for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for target in imported(tree, name, path.name == "__init__.py", files):
            if target in files and target != name:
                edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else "bridge").resolve()
    problems = []
    edges = graph(root)
    for component in cycles(edges):
        ties = [f"{a} -> {b}" for a in component for b in sorted(edges[a]) if b in component]
        problems.append("import cycle: " + "; ".join(ties))
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text("utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{path.relative_to(root.parent)}: {lines} lines (at most {MAX_LINES})")
    for problem in problems:
        print(problem)
    if not problems:
        modules = len(edges)
        print(f"{root.name}: {modules} modules, no import cycle, none over {MAX_LINES} lines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
