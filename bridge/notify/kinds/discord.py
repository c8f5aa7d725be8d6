"""Discord webhooks: an embed.

https://discord.com/developers/docs/resources/webhook#execute-webhook (answers 204; 429 with
Retry-After and a JSON retry_after when rate limited),
https://discord.com/developers/docs/resources/message#embed-object-embed-limits (title 256,
description 4096, ≤ 25 fields: name 256, value 1024; 6000 characters in all; content 2000).
"""

from __future__ import annotations

from typing import Any

from bridge.notify.answers import check_http
from bridge.notify.kinds.base import Compose, unsigned
from bridge.notify.message import Message, clip, mention_ids, mentions_all
from bridge.notify.request import NotifyRequest

RATE_LIMIT = 30  # per webhook: Discord allows 30 messages a minute to a channel
_COLOR = {"good": 0x2EB67D, "bad": 0xE01E5A, "neutral": 0x5865F2}
MAX_EMBED = 6000

sign = unsigned


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    body = _body(compose.message)
    return NotifyRequest("discord", target.name, target.url or "", body, secrets=compose.secrets)


classify = check_http  # a 2xx is taken; nothing in the body says otherwise


def _body(m: Message) -> dict[str, Any]:
    facts = [(clip(k, 256), clip(v, 1024)) for k, v in m.facts[:25]]
    fields = [{"name": k, "value": v, "inline": True} for k, v in facts]
    budget = MAX_EMBED - sum(len(k) + len(v) for k, v in facts)
    title = clip(m.title, 256)
    links = "\n".join(f"[{label}]({url})" for label, url in m.links)
    description = "\n\n".join(part for part in (m.text, links) if part)
    embed: dict[str, Any] = {
        "description": clip(description, max(min(4096, budget - len(title)), 0)),
        "color": _COLOR[m.tone],
        "fields": fields,
    }
    if title:
        embed["title"] = title
    if m.links:
        embed["url"] = m.links[0][1]
    users = [who for who in mention_ids(m.mention) if not who.startswith("&")]
    roles = [who[1:] for who in mention_ids(m.mention) if who.startswith("&")]
    content = " ".join(
        (["@everyone"] if mentions_all(m.mention) else [])
        + [f"<@{u}>" for u in users]
        + [f"<@&{r}>" for r in roles]
    )
    allowed = {
        "parse": ["everyone"] if mentions_all(m.mention) else [],
        "users": users,
        "roles": roles,
    }
    return {"content": clip(content, 2000), "embeds": [embed], "allowed_mentions": allowed}
