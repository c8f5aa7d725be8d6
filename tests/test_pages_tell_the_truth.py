"""The delivery log and the payload tester say what happened, in one format, and let people
back out: the sender's time formatted like every other time, a dry-run request called
recorded rather than sent, long event types that wrap between words, singular counts, a
Cancel beside every replay confirmation, and recorded webhooks to start the tester from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from bridge import create_app
from bridge.ui.filters import sender_time, word_breaks
from tests.support.app import bridge
from tests.support.auth import TOKEN, log_in
from tests.support.samples import sample, signed

READY = sample("appstoreconnect/app-version-ready-for-distribution.json")
READY_ID = json.loads(READY)["data"]["id"]
REJECTED = sample("appstoreconnect/app-version-rejected.json")


@pytest.fixture
def app(environ: dict[str, str]) -> Iterator[Flask]:
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": TOKEN})
    yield app
    bridge(app).close()


def received(app: Flask, *bodies: bytes) -> Flask:
    client = app.test_client()
    for body in bodies:
        assert client.post("/webhooks/ios", data=body, headers=signed(body)).status_code == 202
    while bridge(app).dispatcher.run_once():
        pass
    return app


def page(app: Flask, path: str) -> str:
    client = app.test_client()
    log_in(client)
    response = client.get(path)
    assert response.status_code == 200, response.text[:300]
    return response.text


def test_the_senders_time_is_shown_like_every_other_time(app: Flask) -> None:
    text = page(received(app, READY), f"/events/ios/{READY_ID}")
    assert "<dt>Sent at</dt>" in text
    assert '<time datetime="2025-12-23T06:03:50.925Z">2025-12-23 06:03:50 UTC</time>' in text


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2025-12-23T06:03:50.925Z", "2025-12-23 06:03:50 UTC"),
        ("2025-12-23T07:03:50+01:00", "2025-12-23 06:03:50 UTC"),
        ("yesterday", "yesterday"),
    ],
)
def test_sender_time(text: str, shown: str) -> None:
    assert sender_time(text) == shown


def test_a_dry_run_request_is_called_recorded_not_sent(app: Flask) -> None:
    text = page(received(app, READY), f"/events/ios/{READY_ID}")
    assert "Request recorded, not sent (dry run)" in text
    assert "Request sent" not in text


def test_long_event_types_wrap_between_words(app: Flask) -> None:
    text = page(received(app, READY), "/deliveries")
    assert "app<wbr>Store<wbr>Version<wbr>App<wbr>Version<wbr>State<wbr>Updated" in text
    assert str(word_breaks("<b>READY_FOR")) == "&lt;b&gt;READY_<wbr>FOR"


def test_one_failed_delivery_reads_in_the_singular_with_a_cancel(app: Flask) -> None:
    text = page(received(app, REJECTED), "/deliveries")  # its template fails: 1 failed
    assert "Queue the failed delivery to be sent again?" in text
    assert "Queue all 1" not in text
    confirms = re.findall(r'<details class="confirm">.*?</details>', text, re.S)
    assert confirms
    assert all(re.search(r'<a class="button[^"]*" href="[^"]+">Cancel</a>', c) for c in confirms)


def test_the_tester_starts_from_a_recorded_webhook(app: Flask) -> None:
    text = page(app, "/test-payload?source=ios&sample=appstoreconnect/app-version-rejected.json")
    assert "<option selected>appstoreconnect/app-version-rejected.json</option>" in text
    assert "&#34;newValue&#34;: &#34;REJECTED&#34;" in text
    assert "api-buildUploads" not in text  # API answers are not webhooks
    elsewhere = page(app, "/test-payload?source=ios&sample=../../../etc/passwd")
    assert "buildUploadStateUpdated" in elsewhere  # only listed names are read: the example
    pgyer = page(app, "/test-payload?source=beta")
    assert "pgyer/update-version.json" in pgyer
    assert "appstoreconnect/" not in pgyer
