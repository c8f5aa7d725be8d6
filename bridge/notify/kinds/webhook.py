"""Any HTTP endpoint (GitLab pipeline triggers, Bitrise, Jenkins, Buildkite …): a JSON body
(the target's ``body`` template, or the standard payload), optionally signed per the
Standard Webhooks specification with the ``standardwebhooks`` reference library.

https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md:
``webhook-id`` (the same on every retry: bridge uses the delivery id), ``webhook-timestamp``
(seconds) and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"
with the base64 key after ``whsec_``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from bridge.delivery.rendering import render_value
from bridge.errors import PermanentSendError, RenderError
from bridge.notify.answers import check_http
from bridge.notify.kinds.base import Compose
from bridge.notify.request import NotifyRequest, hiding

RATE_LIMIT = 60


def build(compose: Compose) -> NotifyRequest:
    target = compose.target
    variables = compose.variables
    if target.body is None:
        body: Any = dict(compose.standard)
        message = compose.message
        body["message"] = {"title": message.title, "text": message.plain()}
    else:
        body = render_value(target.body, variables, f"targets.{target.name}.body")
    headers = {
        str(k): str(render_value(v, variables, f"targets.{target.name}.headers.{k}"))
        for k, v in (target.headers or {}).items()
    }
    for name in headers:
        if name.lower().startswith("webhook-") or name.lower() == "content-type":
            raise RenderError(f"targets.{target.name}.headers: bridge sets {name} itself")
    return NotifyRequest(
        "webhook", target.name, target.url or "", body, headers, compose.secrets,
        signed="standard-webhooks" if target.secret else None, delivery_id=compose.delivery_id,
    )  # fmt: skip


def sign(request: NotifyRequest, secret: str, now: float) -> NotifyRequest:
    try:
        signer = Webhook(secret)
    except Exception as exc:  # not base64, empty: the secret is wrong, retrying cannot help
        raise PermanentSendError(
            f"the Standard Webhooks secret is unusable: {type(exc).__name__}"
        ) from None
    msg_id = request.delivery_id
    timestamp = datetime.fromtimestamp(int(now), tz=UTC)
    signature = signer.sign(msg_id, timestamp, request.encoded().decode())
    headers = {
        **request.headers,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": signature,
    }
    return replace(request, headers=headers, secrets=hiding(request.secrets, signature))


classify = check_http  # a 2xx is taken; nothing in the body says otherwise
