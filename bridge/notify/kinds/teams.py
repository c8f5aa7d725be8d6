"""Microsoft Teams: a Workflows ("Post to a channel when a webhook request is received") or
incoming webhook URL, posting an Adaptive Card.

https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using
(the message carries the card as an attachment of contentType
application/vnd.microsoft.card.adaptive; messages are limited to 28 KB; 429 when throttled).
A webhook cannot mention a channel, so ``mention:`` does nothing here.
"""

from __future__ import annotations

from typing import Any

from bridge.notify.answers import check_http
from bridge.notify.kinds.base import Compose, fit, unsigned
from bridge.notify.message import Message
from bridge.notify.request import NotifyRequest

RATE_LIMIT = 60
MAX_BODY = 27 * 1024  # under the documented 28 KB
_COLOR = {"good": "Good", "bad": "Attention", "neutral": "Default"}

sign = unsigned


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    return fit(
        compose.message,
        MAX_BODY,
        lambda m: NotifyRequest(
            "teams", target.name, target.url or "", _body(m), secrets=compose.secrets
        ),
    )


classify = check_http  # a 2xx is taken; nothing in the body says otherwise


def _body(m: Message) -> dict[str, Any]:
    body: list[dict[str, Any]] = []
    if m.title:
        body.append(
            {"type": "TextBlock", "text": m.title, "weight": "Bolder", "size": "Medium",
             "color": _COLOR[m.tone], "wrap": True}
        )  # fmt: skip
    if m.facts:
        facts = [{"title": k, "value": v} for k, v in m.facts]
        body.append({"type": "FactSet", "facts": facts})
    if m.text:
        body.append({"type": "TextBlock", "text": m.text, "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if m.links:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in m.links
        ]
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "attachments": [attachment]}
