import json
import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from bridge import create_app
from tests.support.app import bridge
from tests.support.samples import ASC_OLD_SECRET, PGYER_TOKEN, sample, signed

BUILD_COMPLETE = sample("appstoreconnect/build-upload-complete.json")
READY = sample("appstoreconnect/app-version-ready-for-distribution.json")
PGYER_UPDATE = sample("pgyer/update-version.json")


def post_asc(client: FlaskClient, body: bytes, **headers: str) -> TestResponse:
    return client.post("/webhooks/ios", data=body, headers={**signed(body), **headers})


def test_accepted_with_matched_routes(client: FlaskClient) -> None:
    response = post_asc(client, READY)
    assert response.status_code == 202
    assert response.get_json() == {
        "status": "accepted",
        "event_id": "5e81b875-0000-4000-8000-000000000006",
        "routes": ["version-live", "version-live-notes"],
    }


def test_redelivery_is_a_duplicate_and_dispatches_nothing(app: Flask, client: FlaskClient) -> None:
    assert post_asc(client, BUILD_COMPLETE).status_code == 202
    again = post_asc(client, BUILD_COMPLETE)
    assert again.status_code == 200
    assert again.get_json() == {
        "status": "duplicate",
        "event_id": "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d",
    }
    [record] = bridge(app).store.recent_events(limit=5)
    assert len(record.deliveries) == 1


@pytest.mark.parametrize(
    "name", ["appstoreconnect/ping.json", "appstoreconnect/app-version-in-review.json"]
)
def test_event_without_routes_is_stored_and_accepted(
    app: Flask, client: FlaskClient, name: str
) -> None:
    response = post_asc(client, sample(name))
    assert response.status_code == 202
    assert response.get_json()["routes"] == []
    assert bridge(app).store.recent_events(limit=1)[0].deliveries == ()


def test_unknown_event_type_is_accepted(client: FlaskClient) -> None:
    body = json.dumps({"data": {"type": "brandNewAppleEvent", "id": "x1"}}).encode()
    response = post_asc(client, body)
    assert response.status_code == 202
    assert response.get_json()["routes"] == []


def test_old_secret_still_verifies_during_rotation(client: FlaskClient) -> None:
    body = BUILD_COMPLETE
    response = client.post("/webhooks/ios", data=body, headers=signed(body, ASC_OLD_SECRET))
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing X-Apple-Signature header"),
        ({"X-Apple-Signature": "hmacsha256=" + "0" * 64}, "does not match"),
        ({"X-Apple-Signature": "sha256=abc"}, "must start with 'hmacsha256='"),
    ],
)
def test_bad_signature_is_401(
    app: Flask, client: FlaskClient, headers: dict[str, str], message: str
) -> None:
    response = client.post("/webhooks/ios", data=BUILD_COMPLETE, headers=headers)
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert bridge(app).store.recent_events(limit=1) == []


def test_signature_over_other_bytes_is_401(client: FlaskClient) -> None:
    reformatted = json.dumps(json.loads(BUILD_COMPLETE)).encode()  # same JSON, other bytes
    response = client.post("/webhooks/ios", data=reformatted, headers=signed(BUILD_COMPLETE))
    assert response.status_code == 401


def test_signature_is_checked_before_parsing(client: FlaskClient) -> None:
    assert client.post("/webhooks/ios", data=b"not json").status_code == 401


def test_pgyer_token(app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ok = client.post(f"/webhooks/beta?token={PGYER_TOKEN}", data=PGYER_UPDATE)
    assert ok.status_code == 202
    assert ok.get_json()["routes"] == ["new-build"]
    assert client.post(f"/webhooks/beta?token={PGYER_TOKEN}", data=PGYER_UPDATE).status_code == 200
    missing = client.post("/webhooks/beta", data=PGYER_UPDATE)
    assert (missing.status_code, missing.get_json()) == (
        401,
        {"error": "missing 'token' query parameter"},
    )
    wrong = client.post("/webhooks/beta?token=guess", data=PGYER_UPDATE)
    assert (wrong.status_code, wrong.get_json()) == (
        401,
        {"error": "wrong 'token' query parameter"},
    )
    assert PGYER_TOKEN not in caplog.text
    assert "guess" not in caplog.text


def test_unknown_source_is_404(client: FlaskClient) -> None:
    response = client.post("/webhooks/nope", data=BUILD_COMPLETE, headers=signed(BUILD_COMPLETE))
    assert (response.status_code, response.get_json()) == (404, {"error": "unknown source 'nope'"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"data": {"type": "buildUploadStateUpdated"}}', "data.id"),
        (b"\xff\xfe", "UTF-8"),
        (b"", "empty"),
    ],
)
def test_malformed_body_is_400(client: FlaskClient, body: bytes, message: str) -> None:
    response = post_asc(client, body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_pgyer_without_type_is_400(client: FlaskClient) -> None:
    response = client.post(f"/webhooks/beta?token={PGYER_TOKEN}", data=b'{"title": "x"}')
    assert response.status_code == 400
    assert "'type'" in response.get_json()["error"]


def test_body_over_the_limit_is_413(environ: dict[str, str]) -> None:
    app = create_app({"max_body_bytes": 2048}, environ=environ)
    body = json.dumps({"data": {"type": "x", "id": "y", "pad": "x" * 4096}}).encode()
    response = app.test_client().post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code == 413
    assert response.get_json() == {"error": "request body is larger than the 2048-byte limit"}
    assert bridge(app).store.recent_events(limit=1) == []


def test_default_limit_is_one_mebibyte(client: FlaskClient) -> None:
    body = b'{"data": {"type": "x", "id": "big", "pad": "' + b"x" * (1024 * 1024) + b'"}}'
    assert post_asc(client, body).status_code == 413
    fits = b'{"data": {"type": "x", "id": "fits", "pad": "' + b"x" * 1_000_000 + b'"}}'
    assert post_asc(client, fits).status_code == 202


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.get("/webhooks/ios")
    assert response.status_code == 405
    assert "error" in response.get_json()


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def _break_store(app: Flask, tmp_path: Path) -> None:
    bridge(app).store.close()
    for name in ("bridge.db", "bridge.db-wal", "bridge.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    (tmp_path / "bridge.db").mkdir()


def test_store_outage_is_503_not_500(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    _break_store(app, tmp_path)
    response = post_asc(client, BUILD_COMPLETE)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "not stored" in response.get_json()["error"]
    health = client.get("/healthz")
    assert (health.status_code, health.get_json()["status"]) == (503, "unavailable")


def test_dry_run_records_the_would_be_request(app: Flask, client: FlaskClient) -> None:
    post_asc(client, READY)
    assert bridge(app).dispatcher.run_once() == 2
    [record] = bridge(app).store.recent_events(limit=1)
    states = {d.route: (d.state, d.attempts) for d in record.deliveries}
    assert states == {"version-live": ("dry_run", 1), "version-live-notes": ("dry_run", 1)}
    workflow = next(d for d in record.deliveries if d.route == "version-live").request
    assert workflow == {
        "kind": "workflow_dispatch",
        "method": "POST",
        "path": "/repos/acme/ios/actions/workflows/release.yml/dispatches",
        "body": {
            "ref": "main",
            "inputs": {"version_id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"},
            "return_run_details": True,
        },
    }


def test_template_error_fails_the_delivery_with_the_reason(app: Flask, client: FlaskClient) -> None:
    post_asc(client, sample("appstoreconnect/app-version-rejected.json"))
    bridge(app).dispatcher.run_once()
    [delivery] = bridge(app).store.recent_events(limit=1)[0].deliveries
    assert delivery.state == "failed"
    assert "client_payload.missing" in (delivery.last_error or "")
    assert "not_there" in (delivery.last_error or "")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.sampled_from(["ios", "beta", "nope"]),
    body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    signature=st.one_of(st.none(), st.text(max_size=80)),
    query=st.one_of(st.none(), st.text(max_size=40)),
)
def test_no_input_produces_a_5xx_or_an_unauthenticated_event(
    app: Flask, source: str, body: bytes, signature: str | None, query: str | None
) -> None:
    headers = {}
    if signature is not None and signature.isprintable() and signature.isascii():
        headers["X-Apple-Signature"] = signature
    response = app.test_client().post(
        f"/webhooks/{source}",
        data=body,
        headers=headers,
        query_string={"token": query} if query else None,
    )
    assert response.status_code in (400, 401, 404)
    assert "error" in response.get_json()
    assert bridge(app).store.recent_events(limit=1) == []


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than any JSON parser's recursion limit
        b'{"data": ' * 50_000 + b"1" + b"}" * 50_000,
        b'{"data": {"type": "buildUploadStateUpdated", "id": "x", "pad": "'
        + b"a" * 900_000
        + b'"}}',  # large but under the 1 MiB limit
        b'{"data": {"type": "x", "id": "\xff\xfe"}}',  # invalid UTF-8, validly signed
    ],
    ids=["deep-array", "deep-object", "large", "invalid-utf8"],
)
def test_signed_hostile_json_gets_a_4xx_or_is_stored_never_a_5xx(
    client: FlaskClient, body: bytes
) -> None:
    response = client.post("/webhooks/ios", data=body, headers=signed(body))
    assert response.status_code in (202, 400), response.get_data()[:200]
    assert "error" in response.get_json() or response.status_code == 202
