"""The App Store Connect API client (bridge/appstoreconnect/client.py) over real HTTP against the
fake App Store Connect (tests/fakes/appstoreconnect/), which verifies every token."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator

import jwt
import pytest
from pytest_httpserver import HTTPServer

from bridge.appstoreconnect.client import TOKEN_LIFETIME, TOKEN_REFRESH, AscClient
from bridge.appstoreconnect.errors import (
    AscAuthError,
    AscError,
    AscNotFoundError,
    AscRequestError,
    AscTransientError,
)
from bridge.appstoreconnect.jsonapi import resource_path
from tests.fakes.appstoreconnect import (
    SAMPLES_DIR,
    AscKey,
    FakeAppStoreConnect,
    apple_error,
    generate_asc_key,
)
from tests.support.asc import asc_client_for as make_client
from tests.support.clock import Clock
from tests.support.servers import closed_port_url

SAMPLE = json.loads((SAMPLES_DIR / "api-buildUploads-complete.json").read_text())
BUILD_UPLOAD_ID = SAMPLE["data"]["id"]
BUILD_UPLOAD = f"/v1/buildUploads/{BUILD_UPLOAD_ID}"
APP = "1234567890"


@pytest.fixture(name="client")
def client_fixture(fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> AscClient:
    fake_asc.load_samples()
    return make_client(fake_asc, asc_key)


class _QuickServer(HTTPServer):
    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)  # stop() waits one poll: keep it short


@pytest.fixture(name="elsewhere", scope="module")
def elsewhere_fixture() -> Iterator[HTTPServer]:
    """Another local server, standing in for a host the token must never reach."""
    server = _QuickServer(host="127.0.0.1", port=0)
    server.expect_request(re.compile(".*")).respond_with_json({"data": []})
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="other_host")
def other_host_fixture(elsewhere: HTTPServer) -> Iterator[HTTPServer]:
    elsewhere.log.clear()
    yield elsewhere
    assert elsewhere.log == [], "a request (with the bearer token) reached another host"


# token ---------------------------------------------------------------------------------------


def test_get_succeeds_with_a_token_apple_would_accept(
    client: AscClient, fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    document = client.get(BUILD_UPLOAD)

    assert document["data"]["type"] == "buildUploads"
    assert document["data"]["id"] == BUILD_UPLOAD_ID
    assert document["data"]["attributes"]["state"]["state"] == "COMPLETE"
    assert fake_asc.auth_failures == []
    [request] = fake_asc.requests
    assert request.method == "GET"
    assert request.path == BUILD_UPLOAD
    assert request.header("accept") == "application/json"
    assert (request.header("user-agent") or "").startswith("bridge/")
    token = request.token
    assert token is not None
    assert fake_asc.tokens == [token]
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": asc_key.key_id, "typ": "JWT"}
    claims = jwt.decode(
        token, asc_key.public_pem, algorithms=["ES256"], audience="appstoreconnect-v1"
    )
    assert claims["iss"] == asc_key.issuer_id
    assert claims["aud"] == "appstoreconnect-v1"
    assert 0 < claims["exp"] - claims["iat"] <= 1200


def test_one_token_is_reused_across_requests_and_threads(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    for _ in range(3):
        client.get(BUILD_UPLOAD)
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(3):
                client.get(BUILD_UPLOAD)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert failures == []
    assert len(fake_asc.requests) == 3 + 8 * 3
    assert client.signed_tokens == 1
    assert len(fake_asc.tokens) == 1
    assert {r.token for r in fake_asc.requests} == set(fake_asc.tokens)


def test_token_reused_before_it_must_be_renewed(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    fake_asc.load_samples()
    clock = Clock(time.time())
    client = make_client(fake_asc, asc_key, clock=clock)
    client.get(BUILD_UPLOAD)

    clock.now += 10 * 60  # both sides: the fake checks expiry against its own clock
    fake_asc.time_offset = 10 * 60
    client.get(BUILD_UPLOAD)

    assert client.signed_tokens == 1
    assert len(fake_asc.tokens) == 1
    assert fake_asc.auth_failures == []


def test_new_token_when_the_current_one_is_about_to_expire(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    fake_asc.load_samples()
    clock = Clock(time.time())
    client = make_client(fake_asc, asc_key, clock=clock)
    client.get(BUILD_UPLOAD)
    first = client.token()

    advance = TOKEN_LIFETIME - TOKEN_REFRESH + 1
    clock.now += advance
    fake_asc.time_offset = advance
    client.get(BUILD_UPLOAD)
    client.get(BUILD_UPLOAD)

    assert client.signed_tokens == 2
    assert len(fake_asc.tokens) == 2
    assert fake_asc.tokens[0] == first
    assert fake_asc.auth_failures == []
    renewed = jwt.decode(fake_asc.tokens[1], options={"verify_signature": False})
    assert renewed["iat"] == int(clock.now)
    assert renewed["exp"] - renewed["iat"] <= 1200


# authentication errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("other_key", "other_issuer", "reason"),
    [(True, False, "Signature"), (False, True, "iss")],
    ids=["another-key-same-kid", "another-issuer"],
)
def test_wrong_key_is_an_auth_error_pointing_at_the_configuration(
    fake_asc: FakeAppStoreConnect,
    asc_key: AscKey,
    other_key: bool,
    other_issuer: bool,
    reason: str,
) -> None:
    fake_asc.load_samples()
    issuer = "00000000-0000-4000-8000-000000000000" if other_issuer else asc_key.issuer_id
    pem = generate_asc_key().private_pem if other_key else asc_key.private_pem
    client = AscClient(
        api_url=fake_asc.url, key_id=asc_key.key_id, issuer_id=issuer, private_key=pem
    )

    with pytest.raises(AscAuthError) as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == 401
    message = str(caught.value)
    assert "NOT_AUTHORIZED" in message
    assert "ASC_KEY_ID" in message
    assert "role" in message
    assert fake_asc.tokens == []
    [why] = fake_asc.auth_failures
    assert reason in why


def test_forbidden_is_an_auth_error(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.enqueue(403)

    with pytest.raises(AscAuthError) as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == 403
    assert "FORBIDDEN_ERROR" in str(caught.value)
    assert "role" in str(caught.value)


# other errors --------------------------------------------------------------------------------


def test_not_found(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    with pytest.raises(AscNotFoundError) as caught:
        client.get("/v1/buildUploads/00000000-0000-4000-8000-000000000000")

    assert caught.value.status == 404
    assert "NOT_FOUND" in str(caught.value)
    assert len(fake_asc.unserved) == 1


def test_rate_limited_with_retry_after(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.enqueue(429, headers={"Retry-After": "7"})

    with pytest.raises(AscTransientError) as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert "RATE_LIMIT_EXCEEDED" in str(caught.value)


def test_rate_limited_without_retry_after(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.rate_limit = 1
    client.get(BUILD_UPLOAD)

    with pytest.raises(AscTransientError) as caught:
        client.get(BUILD_UPLOAD)  # over the fake's hourly budget: its own 429

    assert caught.value.status == 429
    assert caught.value.retry_after is None
    assert client.rate_limit_remaining == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_transient(
    client: AscClient, fake_asc: FakeAppStoreConnect, status: int
) -> None:
    fake_asc.enqueue(status)

    with pytest.raises(AscTransientError) as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == status
    assert str(status) in str(caught.value)


def test_server_error_without_an_error_document_names_the_reason(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(502, body="<html>upstream went away</html>")

    with pytest.raises(AscTransientError, match=r"(?i)502 bad gateway"):
        client.get(BUILD_UPLOAD)


def test_a_slow_answer_is_a_timeout(fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> None:
    fake_asc.load_samples()
    client = make_client(fake_asc, asc_key, timeout=0.3)
    fake_asc.enqueue(delay=2.0)

    with pytest.raises(AscTransientError, match=r"no answer within 0\.3 s") as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status is None
    assert caught.value.retry_after is None


def test_unreachable_host(asc_key: AscKey) -> None:
    client = AscClient(
        api_url=closed_port_url(),
        key_id=asc_key.key_id,
        issuer_id=asc_key.issuer_id,
        private_key=asc_key.private_pem,
        timeout=2.0,
    )

    with pytest.raises(AscTransientError, match="cannot reach App Store Connect") as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status is None


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (400, "PARAMETER_ERROR.INVALID", "A parameter has an invalid value"),
        (409, "ENTITY_ERROR.RELATIONSHIP.INVALID", "The provided entity is invalid"),
        (422, "ENTITY_ERROR.ATTRIBUTE.INVALID", "An attribute value is invalid"),
    ],
)
def test_client_errors_carry_apples_code_and_title(
    client: AscClient, fake_asc: FakeAppStoreConnect, status: int, code: str, title: str
) -> None:
    body = apple_error(status, code=code, title=title, detail="url must be an https URL")
    fake_asc.enqueue(status, body=body)

    with pytest.raises(AscRequestError) as caught:
        client.post("/v1/webhooks", {"data": {"type": "webhooks"}})

    assert not isinstance(caught.value, AscTransientError | AscAuthError | AscNotFoundError)
    assert caught.value.status == status
    assert str(caught.value) == (
        f"POST /v1/webhooks: {status} {code}: {title} — url must be an https URL"
    )


def test_a_real_validation_error_from_the_fake(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    with pytest.raises(AscRequestError, match="422 ENTITY_ERROR"):
        client.post("/v1/webhooks", {"data": {"type": "webhooks", "attributes": {}}})


def test_a_non_json_answer_is_transient(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.enqueue(200, body="<html>maintenance</html>")

    with pytest.raises(AscTransientError, match="not JSON") as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == 200


def test_a_json_answer_that_is_not_an_object_is_transient(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(200, body=[1, 2])

    with pytest.raises(AscTransientError, match="not a JSON object"):
        client.get(BUILD_UPLOAD)


# writes --------------------------------------------------------------------------------------


def test_post_patch_delete_send_json_and_return_documents(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    attributes = {
        "name": "bridge",
        "secret": "s3cret-value",
        "eventTypes": ["BUILD_UPLOAD_STATE_UPDATED"],
        "url": "https://bridge.example/hooks/ios",
        "enabled": True,
    }
    relationships = {"app": {"data": {"type": "apps", "id": APP}}}
    created = client.post(
        "/v1/webhooks",
        {"data": {"type": "webhooks", "attributes": attributes, "relationships": relationships}},
    )
    hook = created["data"]["id"]
    updated = client.patch(
        resource_path("webhooks", hook),
        {"data": {"type": "webhooks", "id": hook, "attributes": {"enabled": False}}},
    )
    assert updated["data"]["attributes"]["enabled"] is False
    assert client.delete(resource_path("webhooks", hook)) is None  # type: ignore[func-returns-value]

    assert fake_asc.webhooks(APP) == []
    post, patch, delete = fake_asc.requests
    assert post.header("content-type") == "application/json"
    assert post.json["data"]["attributes"] == attributes
    assert patch.method == "PATCH"
    assert patch.json["data"]["attributes"] == {"enabled": False}
    assert delete.method == "DELETE"
    assert delete.body == b""


# the token stays with App Store Connect ------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(
    client: AscClient, fake_asc: FakeAppStoreConnect, other_host: HTTPServer, status: int
) -> None:
    fake_asc.enqueue(status, headers={"Location": other_host.url_for(BUILD_UPLOAD)})

    with pytest.raises(AscRequestError, match="redirect not followed") as caught:
        client.get(BUILD_UPLOAD)

    assert caught.value.status == status
    assert len(fake_asc.requests) == 1
    # other_host asserts on teardown that it received nothing


def test_pages_follow_next_links_on_the_same_origin(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    hook = fake_asc.add_webhook(APP)
    seeded = {
        fake_asc.add_delivery(hook, {"data": {"type": "buildUploadStateUpdated", "id": f"e{i}"}})
        for i in range(5)
    }

    pages = list(client.pages(f"/v1/webhooks/{hook}/deliveries", {"limit": 2}))

    assert [len(page["data"]) for page in pages] == [2, 2, 1]
    assert {d["id"] for page in pages for d in page["data"]} == seeded
    requests = fake_asc.requests_to("/deliveries$")
    assert len(requests) == 3
    assert requests[0].args == {"limit": "2"}
    assert all("cursor" in r.args and r.args["limit"] == "2" for r in requests[1:])
    assert len(fake_asc.tokens) == 1


def test_pages_stop_at_max_pages(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    for i in range(5):
        fake_asc.add_delivery(hook, {"data": {"type": "buildUploadStateUpdated", "id": f"e{i}"}})

    pages = list(client.pages(f"/v1/webhooks/{hook}/deliveries", {"limit": 1}, max_pages=2))

    assert len(pages) == 2
    assert len(fake_asc.requests) == 2


@pytest.mark.parametrize(
    "next_link",
    [
        "{other}/v1/webhooks/h/deliveries?cursor=abc",
        "{other}/v1/webhooks/h/deliveries",
        "https://evil.example/v1/webhooks/h/deliveries",
        "{asc}@evil.example/v1/webhooks/h/deliveries",
        "{asc_https}/v1/webhooks/h/deliveries",
        "/v1/webhooks/h/deliveries?cursor=abc",
    ],
)
def test_pages_refuse_a_next_link_to_another_host(
    client: AscClient, fake_asc: FakeAppStoreConnect, other_host: HTTPServer, next_link: str
) -> None:
    link = next_link.format(
        other=other_host.url_for("").rstrip("/"),
        asc=fake_asc.url,
        asc_https=fake_asc.url.replace("http://", "https://"),
    )
    fake_asc.enqueue(
        200, body={"data": [{"type": "webhookDeliveries", "id": "d1"}], "links": {"next": link}}
    )

    pages = client.pages("/v1/webhooks/h/deliveries")
    first = next(pages)
    with pytest.raises(AscRequestError, match="refusing to follow a next link"):
        next(pages)

    assert first["data"] == [{"type": "webhookDeliveries", "id": "d1"}]
    assert len(fake_asc.requests) == 1
    # other_host asserts on teardown that it received nothing


def test_pages_refuse_a_next_link_outside_the_api_path(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    client = AscClient(
        api_url=fake_asc.url + "/v1",
        key_id=asc_key.key_id,
        issuer_id=asc_key.issuer_id,
        private_key=asc_key.private_pem,
    )
    body = {"data": [], "links": {"next": f"{fake_asc.url}/v1x/webhooks?cursor=a"}}
    fake_asc.enqueue(200, body=body)

    with pytest.raises(AscRequestError, match="another host"):
        list(client.pages("/webhooks/h/deliveries"))

    [request] = fake_asc.requests
    assert request.path == "/v1/webhooks/h/deliveries"


# paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "id_", "relationship"),
    [
        ("buildUploads", "a/b", None),
        ("buildUploads", "..", None),
        ("buildUploads", "../apps", None),
        ("buildUploads", "id?x=1", None),
        ("buildUploads", "id#x", None),
        ("buildUploads", "an id", None),
        ("buildUploads", "", None),
        ("buildUploads", "%2e%2e", None),
        ("buildUploads", "-leading-dash", None),
        ("buildUploads", "x" * 129, None),
        ("buildUploads", "id\n", None),
        ("build5", "123", None),
        ("build-uploads", "123", None),
        ("builds/..", "123", None),
        ("", "123", None),
        ("builds\n", "123", None),
        ("appStoreVersions", "123", "../build"),
        ("appStoreVersions", "123", "build?x"),
        ("appStoreVersions", "123", ""),
    ],
)
def test_resource_path_rejects_what_is_not_an_app_store_connect_resource(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey, type_: str, id_: str, relationship: str | None
) -> None:
    client = make_client(fake_asc, asc_key)

    with pytest.raises(AscRequestError, match=r"not an App Store Connect (resource|relationship)"):
        client.get(resource_path(type_, id_, relationship))

    assert fake_asc.requests == []


@pytest.mark.parametrize(
    ("type_", "id_", "relationship", "path"),
    [
        ("buildUploads", BUILD_UPLOAD_ID, None, BUILD_UPLOAD),
        ("apps", APP, None, f"/v1/apps/{APP}"),
        ("appStoreVersions", "7a6b5c4d", "build", "/v1/appStoreVersions/7a6b5c4d/build"),
        ("builds", "a_b-C", None, "/v1/builds/a_b-C"),
    ],
)
def test_resource_path_accepts_uuids_and_numeric_ids(
    type_: str, id_: str, relationship: str | None, path: str
) -> None:
    assert resource_path(type_, id_, relationship) == path


def test_resource_path_reaches_the_resource(client: AscClient) -> None:
    document = client.get(resource_path("buildUploads", BUILD_UPLOAD_ID))

    assert document["data"]["id"] == BUILD_UPLOAD_ID


# secrets and rate limits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (401, {}, None),
        (403, {}, None),
        (404, {}, None),
        (409, {}, None),
        (429, {"Retry-After": "7"}, None),
        (500, {}, None),
        (302, {"Location": "https://elsewhere.example/"}, None),
        (200, {}, "not json"),
    ],
)
def test_the_token_never_appears_in_errors(
    client: AscClient,
    fake_asc: FakeAppStoreConnect,
    status: int,
    headers: dict[str, str],
    body: str | None,
) -> None:
    fake_asc.enqueue(status, headers=headers, body=body)

    with pytest.raises(AscError) as caught:
        client.get(BUILD_UPLOAD, {"limit": 1})

    token = client.token()
    signature = token.rsplit(".", 1)[1]
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert token not in text
        assert signature not in text
        assert "Bearer" not in text


def test_the_token_is_not_in_transport_errors(asc_key: AscKey) -> None:
    client = AscClient(
        api_url=closed_port_url(),
        key_id=asc_key.key_id,
        issuer_id=asc_key.issuer_id,
        private_key=asc_key.private_pem,
    )

    with pytest.raises(AscTransientError) as caught:
        client.get(BUILD_UPLOAD)

    assert client.token().rsplit(".", 1)[1] not in str(caught.value)
    assert caught.value.__suppress_context__


def test_rate_limit_header_is_parsed(client: AscClient, fake_asc: FakeAppStoreConnect) -> None:
    assert client.rate_limit_remaining is None

    client.get(BUILD_UPLOAD)
    assert client.rate_limit_remaining == 3599
    client.get(BUILD_UPLOAD)
    assert client.rate_limit_remaining == 3598

    fake_asc.enqueue(headers={"X-Rate-Limit": "user-hour-lim:3500;user-hour-rem:500;"})
    client.get(BUILD_UPLOAD)
    assert client.rate_limit_remaining == 500


def test_rate_limit_is_noted_on_errors_too(
    client: AscClient, fake_asc: FakeAppStoreConnect
) -> None:
    fake_asc.enqueue(404, headers={"X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:42;"})

    with pytest.raises(AscNotFoundError):
        client.get(BUILD_UPLOAD)

    assert client.rate_limit_remaining == 42


def test_few_requests_left_is_logged(
    client: AscClient, fake_asc: FakeAppStoreConnect, caplog: pytest.LogCaptureFixture
) -> None:
    fake_asc.rate_limit = 100
    with caplog.at_level(logging.WARNING, logger="bridge.appstoreconnect.client"):
        client.get(BUILD_UPLOAD)

    assert client.rate_limit_remaining == 99
    assert "99 requests left this hour" in caplog.text
