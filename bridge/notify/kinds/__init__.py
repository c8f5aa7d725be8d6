"""The target kinds, one module each, behind the :class:`~bridge.notify.kinds.base.Kind`
interface: build the service's native message, sign it when the target has a secret, and
classify the answer. ``KINDS`` maps a routes.yaml ``kind`` to its module."""

from __future__ import annotations

from collections.abc import Mapping

from bridge.notify.kinds import dingtalk, discord, feishu, slack, teams, telegram, webhook, wecom
from bridge.notify.kinds.base import Kind

KINDS: Mapping[str, Kind] = {
    "slack": slack,
    "teams": teams,
    "discord": discord,
    "wecom": wecom,
    "dingtalk": dingtalk,
    "feishu": feishu,
    "telegram": telegram,
    "webhook": webhook,
}
