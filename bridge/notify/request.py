"""What bridge sends to a chat or HTTP target for one delivery, and how it is shown.

The request holds the secrets it needs (webhook URLs with their tokens, a GitLab trigger
token in a body, header values); :meth:`NotifyRequest.as_dict` is what the store records,
the delivery log and ``bridge events`` show: every value that came from ``${VAR}`` in the
target is replaced by its reference (``${SLACK_WEBHOOK_URL}``), and signatures by ``***``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"


@dataclass(frozen=True, slots=True)
class NotifyRequest:
    kind: str  # the target's kind: slack, dingtalk, webhook, …
    target: str  # the target's name in routes.yaml
    url: str
    body: Any  # JSON, as sent
    headers: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)  # value → how it is shown
    signed: str | None = None  # "dingtalk", "feishu", "standard-webhooks": signed when sent
    delivery_id: str = ""  # the Standard Webhooks webhook-id: the same on every retry

    def encoded(self) -> bytes:
        """The body's bytes, exactly as sent (and signed)."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()

    def as_dict(self) -> dict[str, Any]:
        """The request as stored and shown, secrets redacted."""
        shown: dict[str, Any] = {
            "kind": "notify",
            "target": self.target,
            "target_kind": self.kind,
            "method": "POST",
            "url": self.redact(self.url),
            "body": self._redact_value(self.body),
        }
        if self.headers:
            shown["headers"] = {k: self.redact(v) for k, v in self.headers.items()}
        if self.signed:
            shown["signed"] = self.signed
        return shown

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced (also URL-encoded forms of it)."""
        return redact(text, self.secrets)

    def _redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {k: self._redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_value(v) for v in value]
        return value


def redact(text: str, secrets: Mapping[str, str]) -> str:
    """Replace every secret of ``secrets`` (value → shown as) in ``text``, raw or URL-encoded.
    ``secrets`` is ordered longest first (:func:`bridge.routing.load.load_routes`), so a
    secret that contains another is replaced whole."""
    for value, shown in secrets.items():
        for form in dict.fromkeys((value, quote(value, safe=""), quote_plus(value))):
            if form in text:
                text = text.replace(form, shown)
    return text


def hiding(secrets: Mapping[str, str], *values: str) -> dict[str, str]:
    """``secrets`` plus ``values`` (signatures computed at send time) shown as ``***``."""
    more = {value: REDACTED for value in values if value}
    return dict(sorted({**secrets, **more}.items(), key=lambda item: -len(item[0])))
