"""Chat and HTTP targets under test: a routes.yaml with one target of every kind pointed at the
fake vendors (tests/fakes/chat.py), an app on it, and the steps the notify tests share."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from bridge import create_app
from bridge.services import Services
from bridge.store import DeliveryRecord
from tests.fakes.chat import FakeChat
from tests.support.samples import ASC_SECRET, PGYER_TOKEN, sample, signed

REJECTED = "appstoreconnect/app-version-rejected.json"
REJECTED_ID = "5e81b875-0000-4000-8000-000000000007"
ADMIN = "admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
KINDS = ("slack", "teams", "discord", "wecom", "dingtalk", "feishu", "telegram", "hook")

TARGETS_YAML = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
  beta: {provider: pgyer, token: "${PGYER_TOKEN}"}
targets:
  slack: {kind: slack, url: "${SLACK_WEBHOOK_URL}"}
  teams: {kind: teams, url: "${TEAMS_WEBHOOK_URL}"}
  discord: {kind: discord, url: "${DISCORD_WEBHOOK_URL}"}
  wecom: {kind: wecom, url: "${WECOM_WEBHOOK_URL}"}
  dingtalk: {kind: dingtalk, url: "${DINGTALK_WEBHOOK_URL}", secret: "${DINGTALK_SECRET}"}
  feishu: {kind: feishu, url: "${FEISHU_WEBHOOK_URL}", secret: "${FEISHU_SECRET}"}
  telegram:
    kind: telegram
    token: "${TELEGRAM_BOT_TOKEN}"
    chat_id: "${TELEGRAM_CHAT_ID}"
    api_url: "${TELEGRAM_API_URL}"
  hook:
    kind: webhook
    url: "${HOOK_URL}"
    secret: "${HOOK_SECRET}"
    body:
      token: "${GITLAB_TRIGGER_TOKEN}"
      ref: main
      variables: {ASC_STATE: "{{ event.new_state }}"}
routes:
  - name: rejected
    source: ios
    event: appStoreVersionAppVersionStateUpdated
    to: REJECTED
    notify:
      target: [slack, teams, discord, wecom, dingtalk, feishu, telegram, hook]
      mention: all
  - name: pgyer-build
    source: beta
    event: updateVersion
    notify: {target: %(pgyer_target)s, text: "%(pgyer_text)s"}
alerts:
  failed: %(alert_target)s
  stuck: %(alert_target)s
"""


def make_app(
    tmp_path: Path,
    fake: FakeChat,
    *,
    alert_target: str = "slack",
    pgyer_target: str = "wecom",
    pgyer_text: str = "New build {{ payload.os_version }} ({{ payload.build_version }})",
    extra: dict[str, str] | None = None,
) -> Flask:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        TARGETS_YAML
        % {"alert_target": alert_target, "pgyer_target": pgyer_target, "pgyer_text": pgyer_text}
    )
    environ = {
        "BRIDGE_ROUTES": str(routes),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bridge.db'}",
        "ASC_SECRET": ASC_SECRET,
        "PGYER_TOKEN": PGYER_TOKEN,
        "BRIDGE_DISPATCHER": "0",
        "BRIDGE_PUBLIC_URL": "https://bridge.example.com",
        "BRIDGE_ADMIN_TOKEN": ADMIN,
        **fake.urls(),
        **(extra or {}),
    }
    return create_app(environ=environ)


def services(app: Flask) -> Services:
    found: Services = app.extensions["bridge"]
    return found


def receive_rejection(app: Flask) -> None:
    body = sample(REJECTED)
    answer = app.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert answer.status_code == 202, answer.get_data(as_text=True)


def drain(app: Flask) -> int:
    """Attempt every delivery due now (the dispatcher claims a few at a time)."""
    total = 0
    while attempted := services(app).dispatcher.run_once():
        total += attempted
    return total


def deliveries(app: Flask, event_id: str = REJECTED_ID) -> dict[str, DeliveryRecord]:
    (record,) = services(app).store.events_by_id(event_id)
    return {d.route: d for d in record.deliveries}
