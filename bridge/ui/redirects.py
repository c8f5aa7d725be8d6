"""Where a form may send the browser next: a path on bridge, never another site (an open
redirect after login would hand an admin, logged in, to a page that imitates bridge)."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def safe_next(target: str | None, default: str = "/deliveries") -> str:
    """A local path to go to after a form: never another site (open redirect).

    Judged as a browser will read the ``Location`` it ends up in: the WHATWG URL parser drops
    tabs and newlines anywhere and control characters and spaces at the ends, and treats
    ``\\`` as ``/`` (so ``/<TAB>/evil.example`` and ``/\\evil.example`` are
    ``//evil.example``, another host). So any control, space or backslash character refuses
    the value outright, and what is left must be a path on this host: one leading ``/``, no
    scheme, no host. https://url.spec.whatwg.org/#concept-basic-url-parser
    """
    if not target or len(target) > _MAX_NEXT or not target.startswith("/"):
        return default
    if any(_unsafe_in_location(c) for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target


_MAX_NEXT = 2048


def _unsafe_in_location(char: str) -> bool:
    """Characters a browser strips or reinterprets in a URL, and any other invisible one."""
    if char == "\\" or char.isspace() or not char.isprintable():
        return True
    return unicodedata.category(char) in {"Cc", "Cf", "Zs", "Zl", "Zp"}
