"""The event page does not amplify a payload: deep nesting is indented only so far, a long
document is cut with a line saying so, and the raw body is a download (exact bytes, never
rendered). Real requests through the Flask client, on a stored signed event."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge import create_app
from bridge.ui.filters import MAX_RENDERED, pretty_json
from tests.support.app import bridge
from tests.support.samples import signed

ADMIN = "admin-token-for-page-size-tests-0123456789"


@pytest.fixture
def admin(environ: dict[str, str]) -> Iterator[tuple[Flask, FlaskClient]]:
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": ADMIN})
    client = app.test_client()
    assert client.post("/login", data={"token": ADMIN}).status_code == 302
    yield app, client
    bridge(app).close()


def store_event(client: FlaskClient, event_id: str, pad: object) -> bytes:
    body = {"data": {"type": "buildUploadStateUpdated", "id": event_id, "pad": pad}}
    raw = json.dumps(body, separators=(",", ":")).encode()
    response = client.post("/webhooks/ios", data=raw, headers=signed(raw))
    assert response.status_code == 202, response.get_json()
    return raw


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


def test_ten_kib_of_nested_lists_is_not_a_ten_megabyte_page(
    admin: tuple[Flask, FlaskClient],
) -> None:
    _, client = admin
    raw = store_event(client, "deep", [nested(700) for _ in range(7)])
    assert 9_000 < len(raw) < 11_000
    full = len(json.dumps(json.loads(raw), indent=2))
    assert full > 5_000_000  # what the page held when it indented everything
    page = client.get("/events/ios/deep")
    assert page.status_code == 200
    assert len(page.data) < 100_000  # deep levels on one line: about the body's own size


def test_a_long_payload_is_cut_with_a_note_and_a_download_link(
    admin: tuple[Flask, FlaskClient],
) -> None:
    _, client = admin
    raw = store_event(client, "long", ["x" * 100 for _ in range(8_000)])  # ~830 KB
    page = client.get("/events/ios/long")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "cut here" in text and "download the raw body to see it all" in text
    assert len(page.data) < 2 * MAX_RENDERED
    assert 'href="/raw/events/ios/long"' in text
    download = client.get("/raw/events/ios/long")
    assert download.status_code == 200
    assert download.data == raw
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_the_raw_download_needs_the_admin_token(environ: dict[str, str]) -> None:
    app = create_app(environ={**environ, "BRIDGE_ADMIN_TOKEN": ADMIN})
    try:
        client = app.test_client()
        assert client.post("/login", data={"token": ADMIN}).status_code == 302
        store_event(client, "private", [])
        anonymous = app.test_client()
        response = anonymous.get("/raw/events/ios/private")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    finally:
        bridge(app).close()


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2, {"b": "c", "d": [], "e": {}}], "f": None, "g": "\u00e9\u4e2d"},
        [[[]]],
        "text",
        [],
    ],
)
def test_shallow_documents_read_as_before(value: object) -> None:
    assert pretty_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
