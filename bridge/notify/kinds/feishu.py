"""Feishu / Lark custom bots (飞书自定义机器人), with the optional 签名校验 signature.

https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot: POST the webhook URL
(``…/open-apis/bot/v2/hook/<id>``) with ``msg_type`` interactive (a card) or text. With
签名校验, the body carries ``timestamp`` (seconds) and ``sign`` = base64(HMAC-SHA256(
key="{timestamp}\\n{secret}", msg="")); Feishu refuses a timestamp more than an hour away.
The answer is HTTP 200 with ``code`` 0 (older deployments: ``StatusCode`` 0) on success.
Limits: 100 requests a minute and 5 a second per bot (code 9499 when exceeded), body ≤ 20 KB.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bridge.notify.answers import check_code, check_http
from bridge.notify.kinds.base import Compose, fit
from bridge.notify.message import Message, mention_ids, mentions_all
from bridge.notify.request import NotifyRequest, hiding

RATE_LIMIT = 100
MAX_BODY = 19 * 1024  # under the documented 20 KB, leaving room for timestamp and sign
TRANSIENT = frozenset({9499, 11232})  # too many requests; frequency limited
_TEMPLATE = {"good": "green", "bad": "red", "neutral": "blue"}


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    signed = "feishu" if target.secret else None
    return fit(
        compose.message,
        MAX_BODY,
        lambda m: NotifyRequest(
            "feishu",
            target.name,
            target.url or "",
            _body(m),
            secrets=compose.secrets,
            signed=signed,
        ),
    )


def signature(secret: str, timestamp: int) -> str:
    """签名校验: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=""))."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def sign(request: NotifyRequest, secret: str, now: float) -> NotifyRequest:
    timestamp = int(now)
    sign_value = signature(secret, timestamp)
    body = {"timestamp": str(timestamp), "sign": sign_value, **request.body}
    return replace(request, body=body, secrets=hiding(request.secrets, sign_value))


def classify(target: str, status: int, headers: Mapping[str, str], text: str) -> str:
    check_http(target, status, headers, text)
    return check_code(target, status, text, keys=("code", "StatusCode"), transient=TRANSIENT)


def _mentions(mention: tuple[str, ...]) -> str:
    parts = ["<at id=all></at>"] if mentions_all(mention) else []
    return " ".join(parts + [f"<at id={who}></at>" for who in mention_ids(mention)])


def _body(m: Message) -> dict[str, Any]:
    if not m.title:  # a route's own text: a plain text message
        text = " ".join(
            p for p in (m.text, _mentions(m.mention).replace("at id=", "at user_id=")) if p
        )
        return {"msg_type": "text", "content": {"text": text}}
    elements: list[dict[str, Any]] = []
    facts = "\n".join(f"**{label}**: {value}" for label, value in m.facts)
    for part in (facts, m.text, _mentions(m.mention)):
        if part:
            elements.append({"tag": "div", "text": {"tag": "lark_md", "content": part}})
    if m.links:
        buttons = [
            {"tag": "button", "text": {"tag": "plain_text", "content": label}, "url": url,
             "type": "primary" if i == 0 else "default"}
            for i, (label, url) in enumerate(m.links)
        ]  # fmt: skip
        elements.append({"tag": "action", "actions": buttons})
    card = {
        "config": {"wide_screen_mode": True},
        "header": {
            "title": {"tag": "plain_text", "content": m.title},
            "template": _TEMPLATE[m.tone],
        },
        "elements": elements,
    }
    return {"msg_type": "interactive", "card": card}
