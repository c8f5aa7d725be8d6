"""WeCom (企业微信) group robots.

https://developer.work.weixin.qq.com/document/path/91770: POST the webhook URL
(``…/cgi-bin/webhook/send?key=KEY``) with ``msgtype`` markdown (content ≤ 4096 bytes of
UTF-8) or text (content ≤ 2048 bytes, ``mentioned_list`` with ``@all``); the answer is HTTP
200 with ``errcode`` 0 on success; at most 20 messages a minute per robot (errcode 45009
when exceeded). Markdown messages cannot mention everyone, so ``mention: all`` sends text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.notify.answers import check_code, check_http
from bridge.notify.kinds.base import Compose, unsigned
from bridge.notify.message import Message, clip_bytes, mention_ids, mentions_all
from bridge.notify.request import NotifyRequest

RATE_LIMIT = 20
MAX_MARKDOWN = 4096
MAX_TEXT = 2048
TRANSIENT = frozenset({-1, 45009})  # system busy; api freq out of limit
_COLOR = {"good": "info", "bad": "warning", "neutral": "comment"}

sign = unsigned


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    return NotifyRequest(
        "wecom", target.name, target.url or "", _body(compose.message), secrets=compose.secrets
    )


def classify(target: str, status: int, headers: Mapping[str, str], text: str) -> str:
    check_http(target, status, headers, text)
    return check_code(target, status, text, keys=("errcode",), transient=TRANSIENT)


def _body(m: Message) -> dict[str, Any]:
    if mentions_all(m.mention):
        return {
            "msgtype": "text",
            "text": {
                "content": clip_bytes(m.plain(), MAX_TEXT),
                "mentioned_list": ["@all", *mention_ids(m.mention)],
            },
        }
    lines = []
    if m.title:
        lines.append(f'## <font color="{_COLOR[m.tone]}">{m.title}</font>')
    lines += [f"> {label}: {value}" for label, value in m.facts]
    if m.text:
        lines += ["", m.text]
    if m.links:
        lines += ["", " · ".join(f"[{label}]({url})" for label, url in m.links)]
    mentions = " ".join(f"<@{who}>" for who in mention_ids(m.mention))
    if mentions:
        lines += ["", mentions]
    content = "\n".join(lines)
    if len(content.encode()) > MAX_MARKDOWN and mentions:  # keep the mentions when cutting
        cut = clip_bytes(content, MAX_MARKDOWN - len(mentions.encode()) - 2)
        content = f"{cut}\n\n{mentions}"
    return {"msgtype": "markdown", "markdown": {"content": clip_bytes(content, MAX_MARKDOWN)}}
