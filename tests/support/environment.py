"""What the code reads from the environment, found by running it: the tests that keep the
deploy files and the README's environment tables equal to the code use it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bridge import logs
from bridge.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent


class Recording(dict[str, str]):
    """An empty environment that remembers every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)


def code_variables() -> set[str]:
    env = Recording()
    Settings.from_env(env)
    logs.log_format(env)
    source = "\n".join(p.read_text() for p in (ROOT / "bridge").rglob("*.py"))
    direct = re.findall(r"os\.environ(?:\.get\(|\[)\"([A-Z][A-Z0-9_]+)\"", source)
    return env.asked | set(direct)
