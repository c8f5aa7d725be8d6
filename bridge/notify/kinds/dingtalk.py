"""DingTalk (钉钉) custom robots, with the optional 加签 signature.

https://open.dingtalk.com/document/robots/custom-robot-access and
https://open.dingtalk.com/document/robots/customize-robot-security-settings: POST the webhook
URL (``…/robot/send?access_token=…``) with ``msgtype`` markdown (``title`` is what the
notification shows, ``text`` the markdown) and ``at`` (``isAtAll``, ``atMobiles``; a mobile
is only notified when the text contains ``@mobile``). With 加签, ``timestamp`` (milliseconds)
and ``sign`` = urlencode(base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"))) are
added to the query; DingTalk refuses a timestamp more than an hour away. The answer is HTTP
200 with ``errcode`` 0 on success. At most 20 messages a minute per robot (errcode 130101
when exceeded, then the robot is throttled for 10 minutes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote_plus

from bridge.notify.answers import check_code, check_http
from bridge.notify.kinds.base import Compose
from bridge.notify.message import Message, clip, clip_bytes, mention_ids, mentions_all
from bridge.notify.request import NotifyRequest, hiding

RATE_LIMIT = 20
MAX_TEXT = 18_000  # bytes of markdown; DingTalk refuses messages over 20,000 bytes
TRANSIENT = frozenset({-1, 130101})  # system busy; sending too fast


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    return NotifyRequest(
        "dingtalk",
        target.name,
        target.url or "",
        _body(compose.message),
        secrets=compose.secrets,
        signed="dingtalk" if target.secret else None,
    )


def signature(secret: str, timestamp_ms: int) -> str:
    """加签: base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")), not yet encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


def sign(request: NotifyRequest, secret: str, now: float) -> NotifyRequest:
    timestamp = int(now * 1000)
    sign_value = quote_plus(signature(secret, timestamp))
    joiner = "&" if "?" in request.url else "?"
    url = f"{request.url}{joiner}timestamp={timestamp}&sign={sign_value}"
    return replace(request, url=url, secrets=hiding(request.secrets, sign_value))


def classify(target: str, status: int, headers: Mapping[str, str], text: str) -> str:
    check_http(target, status, headers, text)
    return check_code(target, status, text, keys=("errcode",), transient=TRANSIENT)


def _body(m: Message) -> dict[str, Any]:
    ids = mention_ids(m.mention)
    text = m.markdown()
    if m.title:
        text = "### " + text.replace(f"**{m.title}**", m.title, 1)
    text = "\n\n".join(line for line in text.split("\n") if line)  # DingTalk: blank lines between
    mentions = " ".join(f"@{who}" for who in ids)
    if mentions:
        text = f"{clip_bytes(text, MAX_TEXT - len(mentions.encode()) - 2)}\n\n{mentions}"
    mobiles = [who for who in ids if who.lstrip("+").isdigit()]
    users = [who for who in ids if not who.lstrip("+").isdigit()]
    at: dict[str, Any] = {"isAtAll": mentions_all(m.mention), "atMobiles": mobiles}
    if users:
        at["atUserIds"] = users
    return {
        "msgtype": "markdown",
        "markdown": {"title": clip(m.title or m.text, 60), "text": clip_bytes(text, MAX_TEXT)},
        "at": at,
    }
