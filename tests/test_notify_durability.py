"""A notify delivery survives a crash like a GitHub dispatch: a real ``bridge serve``
(gunicorn) is killed with SIGKILL while its message is in flight, and after the restart the
delivery is claimed again when its lease expires and ends delivered, with one attempt."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bridge.store import open_store
from tests.fakes.chat import FakeChat
from tests.support.samples import ASC_SECRET, sample, signed
from tests.support.servers import Server, free_port

ROUTES = """\
sources:
  ios: {provider: appstoreconnect, secret: "${ASC_SECRET}"}
targets:
  team: {kind: slack, url: "${SLACK_WEBHOOK_URL}"}
routes:
  - name: rejected
    event: appStoreVersionAppVersionStateUpdated
    to: REJECTED
    notify: {target: team}
"""


def delivery_states(database: Path) -> list[tuple[str, int]]:
    store = open_store(f"sqlite:///{database}")
    try:
        (record,) = store.recent_events(limit=5)
        return [(d.state, d.attempts) for d in record.deliveries]
    finally:
        store.close()


def test_kill9_with_a_notify_in_flight_then_delivered_once(
    tmp_path: Path, fake_chat: FakeChat
) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES)
    database = tmp_path / "bridge.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(
        {
            "BRIDGE_ROUTES": str(routes),
            "DATABASE_URL": f"sqlite:///{database}",
            "ASC_SECRET": ASC_SECRET,
            "SLACK_WEBHOOK_URL": fake_chat.urls()["SLACK_WEBHOOK_URL"],
            "PORT": str(free_port()),
            "WEB_CONCURRENCY": "1",
            "BRIDGE_LEASE": "2s",
            "BRIDGE_POLL_INTERVAL": "0.2s",
            "BRIDGE_NOTIFY_TIMEOUT": "30s",
        }
    )
    fake_chat.enqueue("slack", 200, "ok", delay=5)  # the answer comes after the crash
    body = sample("appstoreconnect/app-version-rejected.json")
    server = Server(env, tmp_path / "serve.log").start()
    try:
        status, _ = server.post("/webhooks/ios", body, signed(body))
        assert status == 202
        fake_chat.wait_for("slack", 1)
        server.kill9()
    finally:
        server.stop()
    assert delivery_states(database) == [("pending", 0)]  # stored before the 202, not lost

    server = Server(env, tmp_path / "serve.log").start()
    try:
        fake_chat.wait_for("slack", 2, timeout=30)
        deadline = time.monotonic() + 10
        while delivery_states(database) != [("delivered", 1)]:
            assert time.monotonic() < deadline, delivery_states(database)
            time.sleep(0.2)
        time.sleep(3)  # past another lease: nothing sends it again
        assert len(fake_chat.requests("slack")) == 2
        assert delivery_states(database) == [("delivered", 1)]
    finally:
        server.stop()
