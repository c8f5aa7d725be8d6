"""Stand-in providers: a registered provider with some of its declarations replaced, so a test
can show that routing, the checks and the payload tester read what PROVIDERS declares."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

from bridge.providers import PROVIDERS, Provider

PROVIDER_MEMBERS = [
    *Provider.__annotations__,
    *(n for n, v in vars(Provider).items() if inspect.isfunction(v) and not n.startswith("_")),
]


def provider_like(name: str, **declared: Any) -> Any:
    """``PROVIDERS[name]`` with some declarations replaced: a provider that exists only in the
    test that registers it (``monkeypatch.setitem(PROVIDERS, name, ...)``)."""
    real = PROVIDERS[name]
    unknown = set(declared) - set(PROVIDER_MEMBERS)
    assert not unknown, f"not a member of Provider: {unknown}"
    return SimpleNamespace(**{**{m: getattr(real, m) for m in PROVIDER_MEMBERS}, **declared})
