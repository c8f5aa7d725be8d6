"""Slack incoming webhooks (also Mattermost's Slack-compatible ones): Block Kit.

https://api.slack.com/messaging/webhooks (answers: 200 "ok"; 400 invalid_payload, 403,
404 channel_not_found, 410 channel_is_archived; 429 with Retry-After when rate limited),
https://api.slack.com/reference/block-kit/blocks (header text ≤ 150 characters, section
text ≤ 3000, ≤ 10 fields of ≤ 2000 each), https://api.slack.com/docs/rate-limits (incoming
webhooks: one message per second, short bursts allowed).
"""

from __future__ import annotations

from typing import Any

from bridge.notify.answers import check_http
from bridge.notify.kinds.base import Compose, fit, unsigned
from bridge.notify.message import Message, clip, mention_ids, mentions_all
from bridge.notify.request import NotifyRequest

RATE_LIMIT = 60
MAX_BODY = 40_000  # bytes; Slack truncates "text" beyond 40,000 characters
_EMOJI = {"good": ":white_check_mark:", "bad": ":x:", "neutral": ":information_source:"}

sign = unsigned


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    return fit(
        compose.message,
        MAX_BODY,
        lambda m: NotifyRequest(
            "slack", target.name, target.url or "", _body(m), secrets=compose.secrets
        ),
    )


classify = check_http  # a 2xx is taken; nothing in the body says otherwise


def escape(text: str) -> str:
    """Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mentions(mention: tuple[str, ...]) -> str:
    """``all`` → @channel; ``S…`` a user group, ``U…``/``W…`` a user."""
    parts = ["<!channel>"] if mentions_all(mention) else []
    for who in mention_ids(mention):
        parts.append(f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>")
    return " ".join(parts)


def _body(m: Message) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = []
    if m.title:
        title = clip(f"{_EMOJI[m.tone]} {m.title}", 150)
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": title}})
    if m.mention:
        blocks.append(_section(mentions(m.mention)))
    if m.facts:
        fields = [
            {"type": "mrkdwn", "text": clip(f"*{escape(k)}*\n{escape(v)}", 2000)}
            for k, v in m.facts[:10]
        ]
        blocks.append({"type": "section", "fields": fields})
    if m.text:
        blocks.append(_section(escape(m.text) if m.title else m.text))
    if m.links:
        links = " · ".join(f"<{url}|{escape(label)}>" for label, url in m.links)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    fallback = " ".join(part for part in (mentions(m.mention), m.title or m.text) if part)
    return {"text": clip(fallback, 3000), "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}
