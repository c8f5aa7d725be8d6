"""The one Jinja2 environment routes.yaml templates run in: sandboxed, strict about undefined
names (a typo fails the delivery with a clear reason instead of sending an empty string)."""

from __future__ import annotations

from functools import cache

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment


@cache
def environment() -> ImmutableSandboxedEnvironment:
    """Shared, thread-safe once built. https://jinja.palletsprojects.com/en/stable/sandbox/"""
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value
