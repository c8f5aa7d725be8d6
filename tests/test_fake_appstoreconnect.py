"""The fake App Store Connect API (tests/fakes/appstoreconnect/) itself, over real HTTP."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from tests.fakes.appstoreconnect import (
    SAMPLE_BUILD_ID,
    SAMPLES_DIR,
    AscKey,
    FakeAppStoreConnect,
    generate_asc_key,
)

APP = "1234567890"
VERSION_ID = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
NOT_AUTHORIZED = {
    "status": "401",
    "code": "NOT_AUTHORIZED",
    "title": "Authentication credentials are missing or invalid.",
    "detail": "Provide a properly configured and signed bearer token, and make sure that it has "
    "not expired. Learn more about Generating Tokens for API Requests "
    "https://developer.apple.com/go/?id=api-generating-tokens",
}


def make_token(
    key: AscKey,
    *,
    kid: str | None = None,
    iss: str | None = None,
    aud: str = "appstoreconnect-v1",
    iat: int | None = None,
    lifetime: int = 600,
    pem: str | None = None,
    **extra: Any,
) -> str:
    issued = int(time.time()) if iat is None else iat
    claims = {"iss": iss or key.issuer_id, "iat": issued, "exp": issued + lifetime, "aud": aud}
    headers = {"kid": kid or key.key_id, "typ": "JWT"}
    return jwt.encode(claims | extra, pem or key.private_pem, algorithm="ES256", headers=headers)


@pytest.fixture(name="call")
def call_fixture(fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> Any:
    """``call(method, path_or_url, **requests_kwargs)`` with one good token for the test."""
    token = make_token(asc_key)
    session = requests.Session()

    def call(method: str, target: str, **kwargs: Any) -> requests.Response:
        url = target if target.startswith("http") else fake_asc.url + target
        kwargs.setdefault("headers", {"Authorization": f"Bearer {token}"})
        kwargs.setdefault("timeout", 5)
        return session.request(method, url, **kwargs)

    yield call
    session.close()


def only_error(response: requests.Response) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert re.fullmatch(r"[0-9a-f-]{36}", errors[0]["id"])
    assert errors[0]["status"] == str(response.status_code)
    return dict(errors[0])


def test_key_looks_like_apples(asc_key: AscKey, tmp_path: Path) -> None:
    assert re.fullmatch(r"[A-Z0-9]{10}", asc_key.key_id)
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", asc_key.issuer_id
    )
    assert asc_key.private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert asc_key.write_p8(tmp_path).name == f"AuthKey_{asc_key.key_id}.p8"


def test_serves_samples_with_a_good_token(fake_asc: FakeAppStoreConnect, call: Any) -> None:
    fake_asc.load_samples()
    first = call("GET", f"/v1/appStoreVersions/{VERSION_ID}")
    assert first.status_code == 200
    assert first.headers["X-Rate-Limit"] == "user-hour-lim:3600;user-hour-rem:3599;"
    sample = json.loads((SAMPLES_DIR / "api-appStoreVersions.json").read_text())
    assert first.json()["data"]["attributes"] == sample["data"]["attributes"]
    assert first.json()["links"]["self"] == f"{fake_asc.url}/v1/appStoreVersions/{VERSION_ID}"

    build = call(
        "GET", f"/v1/appStoreVersions/{VERSION_ID}/build", params={"fields[builds]": "version"}
    )
    assert build.headers["X-Rate-Limit"].endswith("user-hour-rem:3598;")
    assert build.json()["data"]["attributes"]["processingState"] == "VALID"
    linkage = call("GET", f"/v1/appStoreVersions/{VERSION_ID}/relationships/build").json()
    assert linkage["data"] == {"type": "builds", "id": SAMPLE_BUILD_ID}

    missing = call("GET", f"/v1/buildUploads/{VERSION_ID}")
    assert missing.status_code == 404
    assert only_error(missing)["code"] == "NOT_FOUND"
    assert call("GET", f"/v1/appStoreVersions/{VERSION_ID}/crashLog").status_code == 404
    assert len(fake_asc.tokens) == 1  # one token, reused
    assert [r.path for r in fake_asc.unserved] == [
        f"/v1/buildUploads/{VERSION_ID}",
        f"/v1/appStoreVersions/{VERSION_ID}/crashLog",
    ]
    assert fake_asc.requests[0].claims is not None
    assert fake_asc.requests[0].claims["aud"] == "appstoreconnect-v1"


OTHER_KEY = generate_asc_key()


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (lambda k: None, "no Authorization header"),
        (lambda k: "Basic dXNlcjpwYXNz", "not 'Bearer <jwt>'"),
        (lambda k: "Bearer not.a.jwt", "not a JWT"),
        (lambda k: "Bearer " + make_token(k, kid="WRONGKEY00"), "kid 'WRONGKEY00'"),
        (lambda k: "Bearer " + make_token(k, pem=OTHER_KEY.private_pem), "InvalidSignatureError"),
        (lambda k: "Bearer " + make_token(k, aud="appstoreconnect-v2"), "aud"),
        (lambda k: "Bearer " + make_token(k, iss="someone-else"), "iss 'someone-else'"),
        (lambda k: "Bearer " + make_token(k, lifetime=1201), "lifetime exp - iat = 1201 s"),
        (lambda k: "Bearer " + make_token(k, iat=int(time.time()) - 700), "expired"),
        (lambda k: "Bearer " + make_token(k, iat=int(time.time()) + 300), "in the future"),
        (lambda k: "Bearer " + make_token(k, scope=["GET /v1/apps"]), "scope"),
        (
            lambda k: (
                "Bearer " + jwt.encode({"iss": k.issuer_id}, "x" * 32, headers={"kid": k.key_id})
            ),
            "alg 'HS256'",
        ),
    ],
)
def test_rejects_bad_tokens_like_apple(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey, authorization: Any, reason: str
) -> None:
    value = authorization(asc_key)
    headers = {} if value is None else {"Authorization": value}
    response = requests.get(f"{fake_asc.url}/v1/webhooks/x", headers=headers, timeout=5)
    assert response.status_code == 401
    assert {k: v for k, v in only_error(response).items() if k != "id"} == NOT_AUTHORIZED
    assert "X-Rate-Limit" in response.headers
    assert len(fake_asc.auth_failures) == 1
    assert reason in fake_asc.auth_failures[0]
    assert fake_asc.tokens == []


def test_scope_and_time_offset(fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> None:
    fake_asc.load_samples()
    path = f"/v1/appStoreVersions/{VERSION_ID}"
    scoped = make_token(asc_key, scope=[f"GET {path}"])
    ok = requests.get(fake_asc.url + path, headers={"Authorization": f"Bearer {scoped}"}, timeout=5)
    assert ok.status_code == 200
    fake_asc.time_offset = 601  # the 600 s token is now expired
    late = requests.get(
        fake_asc.url + path, headers={"Authorization": f"Bearer {scoped}"}, timeout=5
    )
    assert late.status_code == 401
    [reason] = fake_asc.auth_failures
    assert reason.startswith("expired ")


def test_unknown_paths_and_methods(fake_asc: FakeAppStoreConnect, call: Any) -> None:
    assert only_error(call("GET", "/v2/whatever"))["code"] == "NOT_FOUND"
    not_allowed = call("GET", "/v1/webhooks")
    assert not_allowed.status_code == 405
    assert only_error(not_allowed)["code"] == "METHOD_NOT_ALLOWED"
    assert call("DELETE", "/v1/webhookPings").status_code == 405
    assert [r.path for r in fake_asc.unserved] == [
        "/v2/whatever",
        "/v1/webhooks",
        "/v1/webhookPings",
    ]


def webhook_body(**attributes: Any) -> dict[str, Any]:
    defaults = {
        "name": "bridge",
        "secret": "s3cret",
        "eventTypes": ["BUILD_UPLOAD_STATE_UPDATED"],
        "url": "https://bridge.example/hooks/ios",
        "enabled": True,
    }
    return {
        "data": {
            "type": "webhooks",
            "attributes": {k: v for k, v in (defaults | attributes).items() if v is not ...},
            "relationships": {"app": {"data": {"type": "apps", "id": APP}}},
        }
    }


def test_webhook_lifecycle(fake_asc: FakeAppStoreConnect, call: Any) -> None:
    created = call("POST", "/v1/webhooks", json=webhook_body())
    assert created.status_code == 201
    hook = created.json()["data"]
    assert hook["type"] == "webhooks"
    assert "secret" not in hook["attributes"]
    assert hook["relationships"]["app"]["data"] == {"type": "apps", "id": APP}
    assert hook["links"]["self"] == f"{fake_asc.url}/v1/webhooks/{hook['id']}"
    assert fake_asc.webhook_secret(hook["id"]) == "s3cret"
    assert call("GET", f"/v1/webhooks/{hook['id']}").json()["data"] == hook

    patch = {
        "data": {
            "type": "webhooks",
            "id": hook["id"],
            "attributes": {"secret": "new", "enabled": False, "name": None},
        }
    }
    updated = call("PATCH", f"/v1/webhooks/{hook['id']}", json=patch)
    assert updated.status_code == 200
    assert updated.json()["data"]["attributes"]["enabled"] is False
    assert updated.json()["data"]["attributes"]["name"] == "bridge"
    assert fake_asc.webhook_secret(hook["id"]) == "new"
    patch["data"]["id"] = "other"
    conflict = call("PATCH", f"/v1/webhooks/{hook['id']}", json=patch)
    assert conflict.status_code == 409
    assert only_error(conflict)["code"].startswith("ENTITY_ERROR")

    assert call("DELETE", f"/v1/webhooks/{hook['id']}").status_code == 204
    assert call("GET", f"/v1/webhooks/{hook['id']}").status_code == 404
    assert fake_asc.webhooks() == []


@pytest.mark.parametrize(
    ("attributes", "status", "pointer"),
    [
        ({"secret": ...}, 422, "/data/attributes/secret"),
        ({"enabled": None}, 422, "/data/attributes/enabled"),
        ({"eventTypes": []}, 422, "/data/attributes/eventTypes"),
        (
            {"eventTypes": ["BUILD_UPLOAD_STATE_UPDATED", "buildUploadStateUpdated"]},
            422,
            "/data/attributes/eventTypes/1",
        ),
        ({"url": "ftp://bridge.example/hook"}, 422, "/data/attributes/url"),
        ({"secrets": ["a"]}, 422, "/data/attributes/secrets"),
    ],
)
def test_create_webhook_rejects_bad_attributes(
    call: Any, attributes: dict[str, Any], status: int, pointer: str
) -> None:
    response = call("POST", "/v1/webhooks", json=webhook_body(**attributes))
    assert response.status_code == status
    error = only_error(response)
    assert error["code"].startswith("ENTITY_ERROR")
    assert error["source"] == {"pointer": pointer}


def test_eleventh_webhook_conflicts_and_list_paginates(
    fake_asc: FakeAppStoreConnect, call: Any
) -> None:
    for i in range(10):
        assert call("POST", "/v1/webhooks", json=webhook_body(name=f"h{i}")).status_code == 201
    eleventh = call("POST", "/v1/webhooks", json=webhook_body(name="h10"))
    assert eleventh.status_code == 409
    assert only_error(eleventh)["code"] == "ENTITY_ERROR"
    fake_asc.add_webhook("other-app")

    names: list[str] = []
    url: str | None = f"/v1/apps/{APP}/webhooks?limit=4"
    while url is not None:
        page = call("GET", url).json()
        assert page["meta"]["paging"] == {"total": 10, "limit": 4}
        names += [hook["attributes"]["name"] for hook in page["data"]]
        url = page["links"].get("next")
        assert url is None or (url.startswith(fake_asc.url) and "cursor=" in url)
    assert names == [f"h{i}" for i in range(10)]

    too_many = call("GET", f"/v1/apps/{APP}/webhooks", params={"limit": 201})
    assert too_many.status_code == 400
    assert only_error(too_many)["source"] == {"parameter": "limit"}


@pytest.fixture(name="seeded")
def seeded_fixture(fake_asc: FakeAppStoreConnect) -> dict[str, str]:
    """A webhook with five deliveries: build FAILED (Dec 1), version SUCCEEDED (Dec 2), ping
    SUCCEEDED (Dec 3), build PENDING (Dec 4), version FAILED (Dec 5)."""
    hook = fake_asc.add_webhook(APP)
    samples = {
        name: (SAMPLES_DIR / f"{name}.json").read_bytes()
        for name in ("build-upload-failed", "app-version-ready-for-distribution", "ping")
    }
    day = datetime(2025, 12, 1, tzinfo=UTC)
    seeds = [
        ("build-upload-failed", "FAILED"),
        ("app-version-ready-for-distribution", "SUCCEEDED"),
        ("ping", "SUCCEEDED"),
        ("build-upload-failed", "PENDING"),
        ("app-version-ready-for-distribution", "FAILED"),
    ]
    ids = {"hook": hook}
    for i, (name, state) in enumerate(seeds):
        ids[f"d{i}"] = fake_asc.add_delivery(
            hook, samples[name], state=state, created=day + timedelta(days=i)
        )
    return ids


def test_deliveries_filter_by_state_with_events(call: Any, seeded: dict[str, str]) -> None:
    response = call(
        "GET",
        f"/v1/webhooks/{seeded['hook']}/deliveries",
        params={"filter[deliveryState]": "FAILED,PENDING", "include": "event"},
    )
    assert response.status_code == 200
    document = response.json()
    assert [d["id"] for d in document["data"]] == [seeded["d4"], seeded["d3"], seeded["d0"]]
    newest = document["data"][0]
    assert newest["type"] == "webhookDeliveries"
    assert newest["attributes"]["deliveryState"] == "FAILED"
    assert newest["attributes"]["createdDate"] == "2025-12-04T16:00:00-08:00"
    assert newest["attributes"]["response"]["httpStatusCode"] == 500
    assert newest["attributes"]["request"]["url"] == "https://bridge.example/hooks/ios"
    assert document["data"][1]["attributes"]["response"] is None  # PENDING
    events = {e["id"]: e for e in document["included"]}
    assert len(events) == 2  # both build deliveries share one event
    event = events[newest["relationships"]["event"]["data"]["id"]]
    assert event["type"] == "webhookEvents"
    assert event["attributes"]["eventType"] == "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"
    assert event["attributes"]["ping"] is False
    original = (SAMPLES_DIR / "app-version-ready-for-distribution.json").read_text()
    assert event["attributes"]["payload"] == original
    assert json.loads(event["attributes"]["payload"])["data"]["id"] == event["id"]

    pings = call(
        "GET",
        f"/v1/webhooks/{seeded['hook']}/deliveries?filter[deliveryState]=SUCCEEDED&include=event",
    ).json()
    assert [e["attributes"]["ping"] for e in pings["included"]] == [True, False]
    assert pings["included"][0]["attributes"]["eventType"] is None


def test_deliveries_filter_by_date_and_reject_bad_parameters(
    call: Any, seeded: dict[str, str]
) -> None:
    path = f"/v1/webhooks/{seeded['hook']}/deliveries"
    window = {
        "filter[createdDateGreaterThanOrEqualTo]": "2025-12-02T00:00:00Z",
        "filter[createdDateLessThan]": "2025-12-04T01:00:00+01:00",  # = Dec 4 00:00 UTC
    }
    found = call("GET", path, params=window).json()
    assert [d["id"] for d in found["data"]] == [seeded["d2"], seeded["d1"]]
    assert "included" not in found

    for params, parameter in [
        ({"filter[createdDateLessThan]": "yesterday"}, "filter[createdDateLessThan]"),
        ({"filter[createdDateLessThan]": "2025-12-04T00:00:00"}, "filter[createdDateLessThan]"),
        ({"filter[deliveryState]": "FAILED,LOST"}, "filter[deliveryState]"),
        ({"include": "webhook"}, "include"),
        ({"filter[state]": "FAILED"}, "filter[state]"),
        ({"cursor": "garbage"}, "cursor"),
    ]:
        response = call("GET", path, params=params)
        assert response.status_code == 400, params
        assert only_error(response)["source"] == {"parameter": parameter}
    # An unencoded "+" in an offset arrives as a space: Apple would not parse it either.
    raw = call("GET", f"{path}?filter[createdDateLessThan]=2025-12-04T01:00:00+01:00")
    assert raw.status_code == 400


def test_deliveries_paginate_with_absolute_next_links(
    fake_asc: FakeAppStoreConnect, call: Any, seeded: dict[str, str]
) -> None:
    ids: list[str] = []
    url: str | None = f"/v1/webhooks/{seeded['hook']}/deliveries"
    params: dict[str, Any] | None = {
        "limit": 2,
        "include": "event",
        "filter[deliveryState]": "SUCCEEDED,FAILED,PENDING",
    }
    while url is not None:
        page = call("GET", url, params=params).json()
        ids += [d["id"] for d in page["data"]]
        assert page["meta"]["paging"]["total"] == 5
        url, params = page["links"].get("next"), None
    assert ids == [seeded[f"d{i}"] for i in (4, 3, 2, 1, 0)]
    last = fake_asc.requests[-1]
    assert last.args["filter[deliveryState]"] == "SUCCEEDED,FAILED,PENDING"
    assert last.args["limit"] == "2"
    linkage = call("GET", f"/v1/webhooks/{seeded['hook']}/relationships/deliveries?limit=1").json()
    assert linkage["data"] == [{"type": "webhookDeliveries", "id": seeded["d4"]}]


def test_redeliver(fake_asc: FakeAppStoreConnect, call: Any, seeded: dict[str, str]) -> None:
    def body(template: str) -> dict[str, Any]:
        linkage = {"data": {"type": "webhookDeliveries", "id": template}}
        return {"data": {"type": "webhookDeliveries", "relationships": {"template": linkage}}}

    response = call("POST", "/v1/webhookDeliveries", json=body(seeded["d0"]))
    assert response.status_code == 201
    delivery = response.json()["data"]
    assert delivery["type"] == "webhookDeliveries"
    assert delivery["attributes"]["redelivery"] is True
    assert delivery["attributes"]["deliveryState"] == "PENDING"
    original = fake_asc.deliveries(seeded["hook"])[-1]
    assert delivery["relationships"] == original["relationships"]  # same event
    assert fake_asc.deliveries(seeded["hook"])[0]["id"] == delivery["id"]  # newest first
    assert fake_asc.redelivered == [seeded["d0"]]

    unknown = call("POST", "/v1/webhookDeliveries", json=body("nope"))
    assert unknown.status_code == 422
    assert only_error(unknown)["source"] == {"pointer": "/data/relationships/template"}
    assert fake_asc.redelivered == [seeded["d0"]]


def test_ping(fake_asc: FakeAppStoreConnect, call: Any) -> None:
    hook = fake_asc.add_webhook(APP)

    def body(webhook_id: str) -> dict[str, Any]:
        linkage = {"data": {"type": "webhooks", "id": webhook_id}}
        return {"data": {"type": "webhookPings", "relationships": {"webhook": linkage}}}

    response = call("POST", "/v1/webhookPings", json=body(hook))
    assert response.status_code == 201
    assert response.json()["data"]["type"] == "webhookPings"
    assert fake_asc.pings == [hook]
    [delivery] = fake_asc.deliveries(hook)
    assert delivery["attributes"]["deliveryState"] == "SUCCEEDED"
    events = call("GET", f"/v1/webhooks/{hook}/deliveries?include=event").json()["included"]
    assert events[0]["attributes"]["ping"] is True
    assert json.loads(events[0]["attributes"]["payload"])["data"]["type"] == "webhookPingCreated"
    assert call("POST", "/v1/webhookPings", json=body("nope")).status_code == 422
    assert call("POST", "/v1/webhookPings", json={"data": {"type": "webhooks"}}).status_code == 409


def test_queued_faults_come_before_the_token_check(
    fake_asc: FakeAppStoreConnect, call: Any
) -> None:
    fake_asc.load_samples()
    path = f"/v1/appStoreVersions/{VERSION_ID}"
    fake_asc.enqueue(500, match=r"^/v1/appStoreVersions/")
    fake_asc.enqueue(429, headers={"Retry-After": "7"}, method="GET")
    fake_asc.enqueue(delay=1.0, match="appStoreVersions")

    failed = requests.get(fake_asc.url + path, timeout=5)  # no token at all
    assert failed.status_code == 500
    assert only_error(failed)["code"] == "UNEXPECTED_ERROR"
    limited = call("GET", path)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert only_error(limited)["code"] == "RATE_LIMIT_EXCEEDED"
    with pytest.raises(requests.Timeout):
        call("GET", path, timeout=0.2)
    assert call("GET", path).status_code == 200
    assert fake_asc.auth_failures == []
    assert len(fake_asc.wait_for(4, match="appStoreVersions", timeout=2)) == 4


def test_rate_limit_runs_out(fake_asc: FakeAppStoreConnect, call: Any) -> None:
    fake_asc.rate_limit = 2
    answers = [call("GET", "/v1/webhooks/x") for _ in range(3)]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert [a.headers["X-Rate-Limit"] for a in answers] == [
        "user-hour-lim:2;user-hour-rem:1;",
        "user-hour-lim:2;user-hour-rem:0;",
        "user-hour-lim:2;user-hour-rem:0;",
    ]
