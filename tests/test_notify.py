"""Chat and HTTP targets end to end: a signed webhook in through the Flask app, the
dispatcher posting to fake vendors on 127.0.0.1 that check what the real ones check
(tests/fakes/chat.py), and the deliveries stored, retried, failed and shown like any other."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask

from bridge.cli import cli
from bridge.logs import RedactFilter, redact
from tests.fakes.chat import DINGTALK_TOKEN, SLACK_HOOK, FakeChat
from tests.support.notify import (
    AUTH,
    KINDS,
    REJECTED,
    REJECTED_ID,
    TARGETS_YAML,
    deliveries,
    drain,
    make_app,
    receive_rejection,
    services,
)
from tests.support.samples import PGYER_TOKEN, sample


@pytest.fixture
def chat_app(tmp_path: Path, fake_chat: FakeChat) -> Iterator[Flask]:
    app = make_app(tmp_path, fake_chat)
    yield app
    services(app).close()


def secrets(fake: FakeChat) -> list[str]:
    env = fake.urls()
    names = ("SLACK_WEBHOOK_URL", "DINGTALK_SECRET", "FEISHU_SECRET", "TELEGRAM_BOT_TOKEN",
             "HOOK_SECRET", "GITLAB_TRIGGER_TOKEN")  # fmt: skip
    return [env[name] for name in names] + [env["WECOM_WEBHOOK_URL"].split("key=")[1]]


def test_every_kind_is_delivered_once_in_its_native_format(
    chat_app: Flask, fake_chat: FakeChat
) -> None:
    receive_rejection(chat_app)
    assert drain(chat_app) == 8
    for vendor in KINDS:
        assert len(fake_chat.requests(vendor)) == 1, vendor
    found = deliveries(chat_app)
    assert {key: d.state for key, d in found.items()} == {
        f"rejected/{kind}": "delivered"
        for kind in ("slack", "teams", "discord", "wecom", "dingtalk", "feishu", "telegram", "hook")
    }
    slack = fake_chat.requests("slack")[0].json
    assert slack["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": ":x: App Store version: Rejected"},
    }
    assert slack["blocks"][1]["text"]["text"] == "<!channel>"
    dingtalk = fake_chat.requests("dingtalk")[0]
    assert dingtalk.json["at"]["isAtAll"] is True
    assert dingtalk.json["msgtype"] == "markdown"
    feishu = fake_chat.requests("feishu")[0].json
    assert feishu["card"]["header"]["template"] == "red"
    assert {"timestamp", "sign"} <= set(feishu)
    buttons = feishu["card"]["elements"][-1]["actions"]
    assert buttons[-1]["url"] == f"https://bridge.example.com/events/ios/{REJECTED_ID}"
    assert fake_chat.requests("wecom")[0].json["text"]["mentioned_list"] == ["@all"]
    hook = fake_chat.requests("hook")[0]
    assert hook.json == {
        "token": fake_chat.urls()["GITLAB_TRIGGER_TOKEN"],
        "ref": "main",
        "variables": {"ASC_STATE": "REJECTED"},
    }
    assert hook.headers["webhook-id"] == found["rejected/hook"].id  # the same on every retry
    teams = fake_chat.requests("teams")[0].json["attachments"][0]["content"]
    assert teams["type"] == "AdaptiveCard"
    assert "<b>App Store version: Rejected</b>" in fake_chat.requests("telegram")[0].json["text"]


def test_secrets_from_the_environment_never_show(
    chat_app: Flask, fake_chat: FakeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_chat.enqueue("slack", 500, "upstream broke at " + fake_chat.urls()["SLACK_WEBHOOK_URL"])
    receive_rejection(chat_app)
    drain(chat_app)
    found = deliveries(chat_app)
    stored = json.dumps([d.request for d in found.values()])
    assert "${SLACK_WEBHOOK_URL}" in stored and "${GITLAB_TRIGGER_TOKEN}" in stored
    errors = " ".join(d.last_error or "" for d in found.values())
    assert "${SLACK_WEBHOOK_URL}" in errors  # the vendor echoed the URL: redacted
    client = chat_app.test_client()
    page = client.get(f"/events/ios/{REJECTED_ID}", headers=AUTH)
    assert page.status_code == 200
    shown_page = page.get_data(as_text=True)
    assert "rejected/dingtalk" in shown_page and "errcode" in shown_page  # the vendor's answer
    assert "${DINGTALK_WEBHOOK_URL}" in shown_page
    logged = "\n".join(
        f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith("bridge")
    )
    assert "delivery" in logged
    shown = [stored, errors, logged, page.get_data(as_text=True)]
    metrics = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    assert 'bridge_notify_attempts_total{kind="dingtalk",outcome="delivered"} 1.0' in metrics
    for secret in secrets(fake_chat):
        for text in [*shown, metrics]:
            assert secret not in text


def test_a_wrong_dingtalk_signature_fails_and_a_wrong_feishu_one_too(
    chat_app: Flask, fake_chat: FakeChat
) -> None:
    fake_chat.dingtalk_secret = "SECsomething-else"
    fake_chat.feishu_secret = "another-secret"
    receive_rejection(chat_app)
    drain(chat_app)
    found = deliveries(chat_app)
    assert found["rejected/dingtalk"].state == "failed"  # HTTP 200, errcode 310000: never delivered
    assert "310000" in (found["rejected/dingtalk"].last_error or "")
    assert found["rejected/feishu"].state == "failed"
    assert "19021" in (found["rejected/feishu"].last_error or "")
    assert found["rejected/slack"].state == "delivered"


def test_signatures_are_made_per_attempt_so_a_late_retry_is_still_fresh(
    chat_app: Flask, fake_chat: FakeChat
) -> None:
    fake_chat.clock_skew = 2 * 3600.0  # the vendor's clock is two hours ahead of ours
    receive_rejection(chat_app)
    drain(chat_app)
    assert deliveries(chat_app)["rejected/dingtalk"].state == "failed"
    fake_chat.clock_skew = 0.0
    services(chat_app).store.requeue_failed(now=time.time())
    drain(chat_app)
    assert deliveries(chat_app)["rejected/dingtalk"].state == "delivered"


def test_rate_limit_codes_are_transient_and_retried(chat_app: Flask, fake_chat: FakeChat) -> None:
    fake_chat.enqueue("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    fake_chat.enqueue("feishu", 200, {"code": 9499, "msg": "too many request"})
    fake_chat.enqueue("slack", 429, "rate_limited", headers={"Retry-After": "30"})
    before = time.time()
    receive_rejection(chat_app)
    drain(chat_app)
    found = deliveries(chat_app)
    for key in ("rejected/wecom", "rejected/feishu", "rejected/slack"):
        assert found[key].state == "pending", key
        assert found[key].attempts == 1
    assert found["rejected/slack"].next_attempt_at >= before + 30  # Retry-After is a floor
    assert found["rejected/teams"].state == "delivered"  # a chat's 429 pauses only that delivery
    assert not services(chat_app).dispatcher.in_outage


def test_a_refused_standard_webhook_fails(tmp_path: Path, fake_chat: FakeChat) -> None:
    fake_chat.hook_secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="  # not ours
    app = make_app(tmp_path, fake_chat)
    try:
        receive_rejection(app)
        drain(app)
        hook = deliveries(app)["rejected/hook"]
        assert hook.state == "failed"
        assert hook.last_status == 401
    finally:
        services(app).close()


def test_long_texts_are_cut_to_each_services_limit(tmp_path: Path, fake_chat: FakeChat) -> None:
    long = "x" * 30_000 + "{{ payload.build_version }}"
    app = make_app(tmp_path, fake_chat, pgyer_target="[" + ", ".join(KINDS) + "]", pgyer_text=long)
    try:
        body = sample("pgyer/update-version.json")
        answer = app.test_client().post(f"/webhooks/beta?token={PGYER_TOKEN}", data=body)
        assert answer.status_code == 202
        event_id = answer.get_json()["event_id"]
        drain(app)
        found = deliveries(app, event_id)
        assert {d.state for d in found.values()} == {"delivered"}, {
            k: d.last_error for k, d in found.items()
        }
        wecom = fake_chat.requests("wecom")[0].json["markdown"]["content"]
        assert wecom.endswith("…") and len(wecom.encode()) <= 4096
        assert len(fake_chat.requests("feishu")[0].body) <= 20 * 1024
    finally:
        services(app).close()


def test_notify_test_posts_a_test_message_and_reports_a_refusal(
    tmp_path: Path, fake_chat: FakeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        TARGETS_YAML % {"alert_target": "slack", "pgyer_target": "wecom", "pgyer_text": "x"}
    )
    for name, value in {**fake_chat.urls(), "ASC_SECRET": "s", "PGYER_TOKEN": "t"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    result = runner.invoke(cli, ["--routes", str(routes), "notify-test", "dingtalk"])
    assert result.exit_code == 0, result.output
    assert "delivered: 200 OK" in result.output
    assert "${DINGTALK_WEBHOOK_URL}" in result.output
    assert DINGTALK_TOKEN not in result.output
    (posted,) = fake_chat.requests("dingtalk")
    assert "bridge test message" in posted.json["markdown"]["text"]
    fake_chat.enqueue("feishu", 200, {"code": 19024, "msg": "Key Words Not Found"})
    result = runner.invoke(cli, ["--routes", str(routes), "notify-test", "feishu"])
    assert result.exit_code == 1
    assert "19024" in result.output
    result = runner.invoke(cli, ["--routes", str(routes), "notify-test", "nope"])
    assert result.exit_code == 1 and "unknown target 'nope'" in result.output


def test_payload_tester_and_bridge_events_show_notify_requests_redacted(
    chat_app: Flask, fake_chat: FakeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = chat_app.test_client()
    page = client.post(
        "/test-payload", data={"source": "ios", "body": sample(REJECTED).decode()}, headers=AUTH
    )
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    text = page.get_data(as_text=True)
    assert "rejected/dingtalk" in text and "dingtalk message to" in text
    assert "${DINGTALK_WEBHOOK_URL}" in text
    receive_rejection(chat_app)
    drain(chat_app)
    monkeypatch.setenv("DATABASE_URL", services(chat_app).settings.database_url)
    result = CliRunner().invoke(cli, ["events", "--json"])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(line) for line in result.output.splitlines()]
    assert len(record["deliveries"]) == 8
    assert {d["state"] for d in record["deliveries"]} == {"delivered"}
    for secret in secrets(fake_chat):
        assert secret not in text
        assert secret not in result.output


def test_notify_deliveries_on_both_backends(
    tmp_path: Path, fake_chat: FakeChat, store_url: str
) -> None:
    fake_chat.enqueue("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"})
    app = make_app(tmp_path, fake_chat, extra={"DATABASE_URL": store_url})
    try:
        receive_rejection(app)
        assert drain(app) == 8
        found = deliveries(app)
        assert found["rejected/dingtalk"].state == "pending"  # rate limited: retried
        assert sum(d.state == "delivered" for d in found.values()) == 7
        assert services(app).store.requeue_event(REJECTED_ID, source="ios", now=time.time()) == 8
        assert drain(app) == 8  # replayed: every delivery is attempted again
        found = deliveries(app)
        assert found["rejected/dingtalk"].state == "pending"  # the robot is held for a minute
        assert "held back" in (found["rejected/dingtalk"].last_error or "")
        assert sum(d.state == "delivered" for d in found.values()) == 7
        assert len(fake_chat.requests("dingtalk")) == 1
        assert len(fake_chat.requests("slack")) == 2
    finally:
        services(app).close()


def test_log_lines_of_any_library_are_scrubbed_of_target_secrets(
    chat_app: Flask, fake_chat: FakeChat
) -> None:
    """urllib3 logs request lines at DEBUG: a Slack webhook's path or a Telegram bot token
    have no ``token=`` for the generic patterns to find, so the values themselves are hidden."""
    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, __file__, 1,
        '%s://%s:%s "%s %s %s" %s %s', ("http", "127.0.0.1", 80, "POST",
        f"/slack/{SLACK_HOOK}", "HTTP/1.1", 200, 2),
        None,
    )  # fmt: skip
    assert RedactFilter().filter(record)
    assert SLACK_HOOK not in record.getMessage()
    telegram = f"/telegram/bot{quote(fake_chat.urls()['TELEGRAM_BOT_TOKEN'], safe='')}/sendMessage"
    assert fake_chat.urls()["TELEGRAM_BOT_TOKEN"].split(":")[1] not in redact(telegram)
