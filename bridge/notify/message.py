"""A message, before it takes a service's native format: a title that says what happened in
one glance, a few facts (app, version and build, old → new state, review time), the problem
when there is one (a rejection, processing errors, a tester's comment), and links.

Every kind in :mod:`bridge.notify.kinds` formats the same :class:`Message`; the text helpers
here keep each one within its service's size limits by truncating, never refusing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tone = Literal["good", "bad", "neutral"]
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    text: str = ""  # the problem, or a route's own `text:` (then there is no title)
    links: tuple[tuple[str, str], ...] = ()  # (label, URL)
    tone: Tone = "neutral"
    mention: tuple[str, ...] = ()  # the route's `mention:`

    def markdown(self, *, bold: str = "**") -> str:
        """The message as markdown (DingTalk, WeCom, Discord descriptions): the title bold, a
        line per fact, the text, then the links."""
        lines = [f"{bold}{self.title}{bold}"] if self.title else []
        lines += [f"{label}: {value}" for label, value in self.facts]
        if self.text:
            lines += ["", self.text] if lines else [self.text]
        if self.links:
            lines += ["", " · ".join(f"[{label}]({url})" for label, url in self.links)]
        return "\n".join(lines)

    def plain(self) -> str:
        """The message as plain text, links written out."""
        lines = [self.title] if self.title else []
        lines += [f"{label}: {value}" for label, value in self.facts]
        if self.text:
            lines += ["", self.text] if lines else [self.text]
        lines += [f"{label}: {url}" for label, url in self.links]
        return "\n".join(lines)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with … when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def clip_bytes(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` bytes of UTF-8 (services that count bytes: WeCom, DingTalk),
    never splitting a character, ending with … when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode())
    return data[: max(room, 0)].decode(errors="ignore") + ELLIPSIS


def mentions_all(mention: tuple[str, ...]) -> bool:
    return any(m.lower() in ("all", "@all", "everyone", "channel") for m in mention)


def mention_ids(mention: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(m for m in mention if not mentions_all((m,)))
