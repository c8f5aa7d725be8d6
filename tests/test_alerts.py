"""alerts.failed and alerts.stuck: posted once, folded into a digest when many come together,
and never alerting about themselves."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from bridge.config import Settings
from bridge.events import Event
from bridge.notify.alerts import Alerter, FailedDelivery, alert_failed
from bridge.notify.client import Notifier
from bridge.routing.model import Alerts, RoutesConfig, Target
from bridge.store import AttemptResult, Store
from tests.fakes.chat import FakeChat
from tests.support.notify import (
    AUTH,
    REJECTED_ID,
    deliveries,
    drain,
    make_app,
    receive_rejection,
    services,
)


def alert_titles(fake: FakeChat) -> list[str]:
    """The header of every Slack message that is an alert (not a delivery of the route)."""
    titles = []
    for request in fake.requests("slack"):
        header = request.json["blocks"][0]["text"]["text"]
        if "App Store version" not in header:
            titles.append(header)
    return titles


def test_a_failed_delivery_is_announced_once_with_a_link(
    tmp_path: Path, fake_chat: FakeChat
) -> None:
    fake_chat.dingtalk_secret = "SECnot-the-one-bridge-has"
    app = make_app(tmp_path, fake_chat)
    try:
        receive_rejection(app)
        drain(app)
        assert deliveries(app)["rejected/dingtalk"].state == "failed"
        services(app).alerter.stop()  # posts what is queued
        assert alert_titles(fake_chat) == [":x: Delivery failed: rejected/dingtalk"]
        alert = [r for r in fake_chat.requests("slack") if "Delivery failed" in r.body.decode()]
        text = alert[0].body.decode()
        assert "310000" in text  # the last answer
        assert f"https://bridge.example.com/events/ios/{REJECTED_ID}" in text
        drain(app)
        services(app).alerter.flush()
        assert len(alert_titles(fake_chat)) == 1  # once
    finally:
        services(app).close()


def test_an_alert_that_fails_is_counted_never_alerted_about(
    tmp_path: Path, fake_chat: FakeChat
) -> None:
    fake_chat.enqueue("slack", 404, "channel_not_found", times=50)
    app = make_app(tmp_path, fake_chat)
    try:
        receive_rejection(app)
        drain(app)
        assert deliveries(app)["rejected/slack"].state == "failed"
        services(app).alerter.stop()
        drain(app)
        assert len(fake_chat.requests("slack")) == 2  # the delivery, then its alert: no loop
        metrics = app.test_client().get("/metrics", headers=AUTH).get_data(as_text=True)
        assert 'bridge_alerts_total{alert="failed",outcome="failed"} 1.0' in metrics
    finally:
        services(app).close()


def test_many_failures_at_once_make_one_digest(tmp_path: Path, fake_chat: FakeChat) -> None:
    fake_chat.dingtalk_secret = "SECnot-the-one-bridge-has"
    fake_chat.feishu_secret = "not-the-one-either"
    fake_chat.hook_secret = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    fake_chat.enqueue("teams", 400, "Bad payload")
    fake_chat.enqueue("telegram", 400, {"ok": False, "description": "chat not found"})
    app = make_app(tmp_path, fake_chat)
    try:
        receive_rejection(app)
        drain(app)
        services(app).alerter.stop()
        assert alert_titles(fake_chat) == [":x: 5 deliveries failed"]
    finally:
        services(app).close()


def test_stuck_deliveries_are_taken_once(store: Store) -> None:
    event = Event("ios", "appstoreconnect", "buildUploadStateUpdated", "e-1")
    now = 1_000_000.0
    ids = store.record_event(event, b"{}", ["a", "b", "c"], now=now).delivery_ids
    claims = store.claim_due(owner="w", now=now, lease=60, limit=10)
    busy = {c.delivery_id: c for c in claims}
    retry = AttemptResult("retry", now, 1.0, 502, "bad gateway", next_attempt_at=now + 5)
    store.finish(ids[1], owner="w", result=retry)  # one attempt, recent: not stuck
    store.finish(ids[2], owner="w", result=replace(retry, outcome="delivered"))
    assert set(busy) == set(ids)
    later = now + 20 * 60
    taken = store.take_stuck(queued_before=later - 15 * 60, min_attempts=3, now=later, limit=10)
    assert {t.delivery_id for t in taken} == {ids[0], ids[1]}
    assert {t.last_error for t in taken} == {None, "bad gateway"}
    again = store.take_stuck(queued_before=later, min_attempts=3, now=later, limit=10)
    assert again == []
    assert store.requeue_event("e-1", source="ios", now=later) == 3  # a fresh episode
    soon = store.take_stuck(queued_before=later - 60, min_attempts=1, now=later, limit=10)
    assert {t.delivery_id for t in soon} == {ids[1], ids[2]}  # one attempt each ≥ 1


def test_alert_failed_is_the_entry_point_for_other_failures(fake_chat: FakeChat) -> None:
    env = fake_chat.urls()
    target = Target("ops", "feishu", url=env["FEISHU_WEBHOOK_URL"], secret=env["FEISHU_SECRET"])
    routes = RoutesConfig("routes.yaml", {}, (), targets={"ops": target}, alerts=Alerts("ops"))
    settings = Settings(public_url="https://bridge.example.com")
    notifier = Notifier()
    alerter = Alerter(routes, notifier, settings, window=0.05)
    try:
        run = FailedDelivery(
            "release", "ios", "e-9", "appStoreVersionAppVersionStateUpdated",
            "the workflow run ended failure", "d-1", what="Workflow run failed",
            url="https://github.com/acme/ios/actions/runs/1",
        )  # fmt: skip
        alert_failed(alerter, run)
        (posted,) = fake_chat.wait_for("feishu", 1)
        card = posted.json["card"]
        assert card["header"]["title"]["content"] == "Workflow run failed: release"
        urls = [b["url"] for b in card["elements"][-1]["actions"]]
        assert urls == [
            "https://github.com/acme/ios/actions/runs/1",
            "https://bridge.example.com/events/ios/e-9",
        ]
        time.sleep(0.2)
        assert len(fake_chat.requests("feishu")) == 1
    finally:
        alerter.stop()
        notifier.close()


def test_a_stuck_delivery_is_announced_once(tmp_path: Path, fake_chat: FakeChat) -> None:
    fake_chat.enqueue("teams", 503, "Service Unavailable")
    app = make_app(tmp_path, fake_chat)
    try:
        receive_rejection(app)
        drain(app)
        bridge = services(app)
        assert deliveries(app)["rejected/teams"].state == "pending"
        hour_later = Alerter(
            bridge.routes, bridge.notifier, bridge.settings,
            clock=lambda: time.time() + 3600, window=0.01,
        )  # fmt: skip
        assert hour_later.check_stuck(bridge.store) == 1
        hour_later.stop()
        assert alert_titles(fake_chat) == [":x: Delivery not delivered yet: rejected/teams"]
        again = Alerter(bridge.routes, bridge.notifier, bridge.settings, clock=lambda: 2e9)
        assert again.check_stuck(bridge.store) == 0  # announced once, by whichever process
    finally:
        services(app).close()
