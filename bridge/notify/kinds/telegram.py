"""Telegram bots: ``sendMessage`` with HTML formatting.

https://core.telegram.org/bots/api#sendmessage (text ≤ 4096 characters after entities
parsing; ``parse_mode`` HTML), https://core.telegram.org/bots/api#making-requests (the answer
is JSON with ``ok``; on 429 ``parameters.retry_after`` says how long to wait),
https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this (no more than
20 messages a minute to the same group).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from bridge.errors import TransientSendError
from bridge.notify.answers import check_http, parse
from bridge.notify.kinds.base import Compose, unsigned
from bridge.notify.message import Message, clip
from bridge.notify.request import NotifyRequest

RATE_LIMIT = 20
MAX_TEXT = 4096
API_URL = "https://api.telegram.org"

sign = unsigned


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    base = (target.api_url or API_URL).rstrip("/")
    url = f"{base}/bot{target.token}/sendMessage"
    body = {
        "chat_id": target.chat_id,
        "text": _text(compose.message),
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    return NotifyRequest("telegram", target.name, url, body, secrets=compose.secrets)


def classify(target: str, status: int, headers: Mapping[str, str], text: str) -> str:
    try:
        return check_http(target, status, headers, text)
    except TransientSendError as exc:
        data = parse(text)
        params = data.get("parameters") if isinstance(data, dict) else None
        wait = params.get("retry_after") if isinstance(params, dict) else None
        if isinstance(wait, int | float):
            raise TransientSendError(exc.message, status=status, retry_after=float(wait)) from None
        raise


def _text(m: Message) -> str:
    e = html.escape
    lines = [f"<b>{e(m.title)}</b>"] if m.title else []
    lines += [f"<b>{e(k)}:</b> {e(v)}" for k, v in m.facts]
    links = " · ".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in m.links)
    tail = "\n\n" + links if links else ""
    head = "\n".join(lines)
    room = MAX_TEXT - len(head) - len(tail) - 2
    body = e(clip(m.text, max(room, 0))) if m.text else ""
    # Escaping may lengthen the text: cut again, then never inside an entity.
    if len(body) > max(room, 0):
        body = body[: max(room - 1, 0)].rsplit("&", 1)[0] + "…"
    text = "\n\n".join(part for part in (head, body) if part) + tail
    return text[:MAX_TEXT]
