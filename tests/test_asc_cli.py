"""`bridge asc webhooks|ping|deliveries|redeliver` against the fake App Store Connect API
(tests/fakes/appstoreconnect/: real HTTP, tokens verified with a key made for the test)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bridge.appstoreconnect.event_types import EVENT_TYPES
from bridge.cli import cli
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect, generate_asc_key
from tests.support.asc import asc_environ
from tests.support.samples import sample

APP = "1234567890"


@pytest.fixture
def env(environ: dict[str, str], fake_asc: FakeAppStoreConnect, asc_key: AscKey) -> dict[str, str]:
    return {**environ, **asc_environ(fake_asc, asc_key)}


def run(env: Mapping[str, str | None], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def json_lines(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# -- webhooks list ------------------------------------------------------------------------------


def test_list_shows_a_table(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    first = fake_asc.add_webhook(APP, url="https://bridge.example/webhooks/ios")
    second = fake_asc.add_webhook(
        APP, name="beta", event_types=["BUILD_UPLOAD_STATE_UPDATED"], enabled=False
    )
    fake_asc.add_webhook("999", name="other app")
    result = run(env, "asc", "webhooks", "list", "--app", APP)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "NAME", "ENABLED", "URL", "EVENTS"]
    assert len(lines) == 3
    row = {line.split()[0]: line for line in lines[1:]}
    assert row[first].split()[1:5] == [
        "bridge",
        "yes",
        "https://bridge.example/webhooks/ios",
        "all",
    ]
    assert row[second].split()[1:] == [
        "beta",
        "no",
        "https://bridge.example/hooks/ios",
        "buildUploadStateUpdated",
    ]
    assert "other app" not in result.output
    # plain aligned columns: every row starts its URL where the header does
    url_at = lines[0].index("URL")
    assert all(line[url_at:].startswith("https://") for line in lines[1:])


def test_list_json_has_stable_keys(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP, event_types=["BUILD_UPLOAD_STATE_UPDATED"])
    result = run(env, "asc", "webhooks", "list", "--app", APP, "--json")
    assert result.exit_code == 0
    assert json_lines(result) == [
        {
            "id": hook,
            "app_id": APP,
            "name": "bridge",
            "url": "https://bridge.example/hooks/ios",
            "enabled": True,
            "event_types": ["BUILD_UPLOAD_STATE_UPDATED"],
        }
    ]


def test_list_of_an_app_without_webhooks(env: dict[str, str]) -> None:
    result = run(env, "asc", "webhooks", "list", "--app", APP)
    assert result.exit_code == 0
    assert result.output == f"no webhooks for app {APP}\n"
    assert run(env, "asc", "webhooks", "list", "--app", APP, "--json").output == ""


# -- webhooks create ----------------------------------------------------------------------------


def test_create_generates_a_secret_and_prints_it_once(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    result = run(
        env, "asc", "webhooks", "create", "--app", APP, "--url", "https://b.example/webhooks/ios",
        "--events", "BUILD_UPLOAD_STATE_UPDATED",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [hook] = fake_asc.webhooks(APP)
    secret = fake_asc.webhook_secret(hook["id"])
    assert len(secret) >= 40  # token_urlsafe(32)
    assert result.output.count(secret) == 1
    assert "ASC_WEBHOOK_SECRET" in result.output
    assert f"webhook_id: {hook['id']}" in result.output
    assert hook["attributes"] == {
        "enabled": True,
        "eventTypes": ["BUILD_UPLOAD_STATE_UPDATED"],
        "name": "bridge",
        "url": "https://b.example/webhooks/ios",
    }
    # a second webhook gets another secret
    run(
        env,
        "asc",
        "webhooks",
        "create",
        "--app",
        APP,
        "--url",
        "https://b.example/x",
        "--events",
        "all",
    )
    secrets = {fake_asc.webhook_secret(h["id"]) for h in fake_asc.webhooks(APP)}
    assert len(secrets) == 2


def test_create_with_a_given_secret_does_not_print_it(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    result = run(
        env, "asc", "webhooks", "create", "--app", APP, "--url", "https://b.example/webhooks/ios",
        "--events", "all", "--secret", "my-own-secret-value", "--name", "prod", "--disabled",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [hook] = fake_asc.webhooks(APP)
    assert fake_asc.webhook_secret(hook["id"]) == "my-own-secret-value"
    assert "my-own-secret-value" not in result.output
    assert hook["attributes"]["name"] == "prod"
    assert hook["attributes"]["enabled"] is False
    assert sorted(hook["attributes"]["eventTypes"]) == sorted(EVENT_TYPES)
    assert "enabled:  no" in result.output


def test_create_json_carries_the_generated_secret(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    result = run(
        env, "asc", "webhooks", "create", "--app", APP, "--url", "https://b.example/w",
        "--events", "buildUploadStateUpdated", "--json",
    )  # fmt: skip
    assert result.exit_code == 0
    created = json.loads(result.stdout)
    assert set(created) == {"id", "app_id", "name", "url", "enabled", "event_types", "secret"}
    assert created["secret"] == fake_asc.webhook_secret(str(created["id"]))
    given = run(
        env, "asc", "webhooks", "create", "--app", APP, "--url", "https://b.example/w",
        "--events", "all", "--secret", "s3cr3t-given", "--json",
    )  # fmt: skip
    assert json.loads(given.stdout)["secret"] is None


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (["BUILD_UPLOAD_STATE_UPDATED"], ["BUILD_UPLOAD_STATE_UPDATED"]),
        (["buildUploadStateUpdated"], ["BUILD_UPLOAD_STATE_UPDATED"]),
        (["build_upload_state_updated"], ["BUILD_UPLOAD_STATE_UPDATED"]),
        (
            ["buildUploadStateUpdated", "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
            ["BUILD_UPLOAD_STATE_UPDATED", "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
        ),
        (
            ["buildUploadStateUpdated, appStoreVersionAppVersionStateUpdated"],
            ["BUILD_UPLOAD_STATE_UPDATED", "APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
        ),
        (["buildUploadStateUpdated,BUILD_UPLOAD_STATE_UPDATED"], ["BUILD_UPLOAD_STATE_UPDATED"]),
        (["all"], sorted(EVENT_TYPES)),
    ],
)
def test_create_accepts_event_names_in_either_form(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, events: list[str], expected: list[str]
) -> None:
    args = [a for e in events for a in ("--events", e)]
    result = run(
        env, "asc", "webhooks", "create", "--app", APP, "--url", "https://b.example/w", *args
    )
    assert result.exit_code == 0, result.output
    [hook] = fake_asc.webhooks(APP)
    assert hook["attributes"]["eventTypes"] == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "BUILD_UPLOAD_STATE_UPDATE",
            "unknown event type 'BUILD_UPLOAD_STATE_UPDATE'; did you mean 'BUILD_UPLOAD_STATE_UPDATED'?",
        ),
        (
            "buildUploadStateUpdate",
            "unknown event type 'buildUploadStateUpdate'; did you mean 'buildUploadStateUpdated'?",
        ),
        (
            "buildBundleProcessingStateUpdated",
            "unknown event type 'buildBundleProcessingStateUpdated'",
        ),
        ("webhookPingCreated", "pings cannot be subscribed to"),
        (",", "give at least one event type"),
    ],
)
def test_create_refuses_unknown_event_types(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, value: str, message: str
) -> None:
    result = run(
        env,
        "asc",
        "webhooks",
        "create",
        "--app",
        APP,
        "--url",
        "https://b.example/w",
        "--events",
        value,
    )
    assert result.exit_code == 2
    assert "Invalid value for '--events'" in result.output
    assert message in result.output
    if "unknown" in message:
        assert (
            "BUILD_BETA_DETAIL_EXTERNAL_BUILD_STATE_UPDATED" in result.output
            or "buildBetaDetailExternalBuildStateUpdated" in result.output
        )
    assert fake_asc.requests == []  # nothing sent


def test_create_refused_by_app_store_connect(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    for i in range(10):
        fake_asc.add_webhook(APP, name=f"hook{i}")
    result = run(
        env,
        "asc",
        "webhooks",
        "create",
        "--app",
        APP,
        "--url",
        "https://b.example/w",
        "--events",
        "all",
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: POST /v1/webhooks: 409 ENTITY_ERROR")
    assert "at most 10 webhooks" in result.output
    assert len(result.output.strip().splitlines()) == 1


# -- webhooks update ----------------------------------------------------------------------------


def test_update_changes_only_what_is_given(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    hook = fake_asc.add_webhook(APP, secret="old-secret")
    result = run(
        env, "asc", "webhooks", "update", hook, "--url", "https://new.example/webhooks/ios",
        "--events", "appStoreVersionAppVersionStateUpdated", "--disable",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [stored] = fake_asc.webhooks(APP)
    assert stored["attributes"] == {
        "enabled": False,
        "eventTypes": ["APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
        "name": "bridge",
        "url": "https://new.example/webhooks/ios",
    }
    assert fake_asc.webhook_secret(hook) == "old-secret"
    [patch] = fake_asc.requests_to(f"/v1/webhooks/{hook}$", "PATCH")
    assert patch.json["data"]["attributes"] == {
        "url": "https://new.example/webhooks/ios",
        "eventTypes": ["APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
        "enabled": False,
    }
    assert "url:      https://new.example/webhooks/ios" in result.output
    enabled = run(env, "asc", "webhooks", "update", hook, "--enable", "--name", "renamed", "--json")
    assert json.loads(enabled.stdout) | {"secret": None} == {
        "id": hook,
        "app_id": APP,
        "name": "renamed",
        "url": "https://new.example/webhooks/ios",
        "enabled": True,
        "event_types": ["APP_STORE_VERSION_APP_VERSION_STATE_UPDATED"],
        "secret": None,
    }


def test_update_new_secret_is_printed_once(
    env: dict[str, str], fake_asc: FakeAppStoreConnect
) -> None:
    hook = fake_asc.add_webhook(APP, secret="old-secret")
    result = run(env, "asc", "webhooks", "update", hook, "--new-secret")
    assert result.exit_code == 0, result.output
    secret = fake_asc.webhook_secret(hook)
    assert secret != "old-secret"
    assert result.output.count(secret) == 1
    given = run(env, "asc", "webhooks", "update", hook, "--secret", "chosen-secret")
    assert given.exit_code == 0
    assert fake_asc.webhook_secret(hook) == "chosen-secret"
    assert "chosen-secret" not in given.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to change"),
        (["--secret", "a", "--new-secret"], "give --secret or --new-secret, not both"),
        (["--events", "nope"], "unknown event type 'nope'"),
    ],
)
def test_update_usage_errors(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, args: list[str], message: str
) -> None:
    hook = fake_asc.add_webhook(APP)
    result = run(env, "asc", "webhooks", "update", hook, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert fake_asc.requests == []


def test_update_of_an_unknown_webhook_is_a_404(env: dict[str, str]) -> None:
    result = run(env, "asc", "webhooks", "update", "no-such-hook", "--name", "x")
    assert result.exit_code == 1
    assert "PATCH /v1/webhooks/no-such-hook: 404 NOT_FOUND" in result.output


# -- webhooks delete ----------------------------------------------------------------------------


def test_delete_asks_first(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP, name="prod", url="https://b.example/webhooks/ios")
    refused = run(env, "asc", "webhooks", "delete", hook, input="n\n")
    assert refused.exit_code == 1
    assert f"Delete webhook {hook} (prod → https://b.example/webhooks/ios)?" in refused.output
    assert "Aborted" in refused.output
    assert len(fake_asc.webhooks(APP)) == 1
    confirmed = run(env, "asc", "webhooks", "delete", hook, input="y\n")
    assert confirmed.exit_code == 0
    assert f"deleted webhook {hook}" in confirmed.output
    assert fake_asc.webhooks(APP) == []


def test_delete_yes_does_not_ask(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    result = run(env, "asc", "webhooks", "delete", hook, "--yes")
    assert result.exit_code == 0
    assert result.output == f"deleted webhook {hook}\n"
    assert fake_asc.webhooks() == []
    assert [r.method for r in fake_asc.requests] == ["DELETE"]


def test_delete_unknown_webhook(env: dict[str, str]) -> None:
    result = run(env, "asc", "webhooks", "delete", "gone", "--yes")
    assert result.exit_code == 1
    assert "DELETE /v1/webhooks/gone: 404 NOT_FOUND" in result.output


# -- ping, redeliver ----------------------------------------------------------------------------


def test_ping(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    result = run(env, "asc", "ping", hook)
    assert result.exit_code == 0, result.output
    assert fake_asc.pings == [hook]
    assert f"sent to webhook {hook}" in result.output
    assert f"bridge asc deliveries {hook}" in result.output
    as_json = json.loads(run(env, "asc", "ping", hook, "--json").stdout)
    assert set(as_json) == {"id", "webhook_id"}
    assert as_json["webhook_id"] == hook
    assert fake_asc.pings == [hook, hook]


def test_ping_unknown_webhook(env: dict[str, str]) -> None:
    result = run(env, "asc", "ping", "gone")
    assert result.exit_code == 1
    assert "POST /v1/webhookPings: 422" in result.output


def test_redeliver(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    failed = fake_asc.add_delivery(hook, sample("appstoreconnect/build-upload-complete.json"))
    result = run(env, "asc", "redeliver", failed)
    assert result.exit_code == 0, result.output
    assert fake_asc.redelivered == [failed]
    new = fake_asc.deliveries(hook)[0]
    assert new["attributes"]["redelivery"] is True
    assert result.output == (
        f"redelivery requested: delivery {new['id']} (PENDING) of event "
        "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d\n"
    )
    as_json = json.loads(run(env, "asc", "redeliver", failed, "--json").stdout)
    assert as_json["state"] == "PENDING"
    assert as_json["redelivery"] is True
    assert as_json["event_id"] == "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"


def test_redeliver_unknown_delivery(env: dict[str, str]) -> None:
    result = run(env, "asc", "redeliver", "no-such-delivery")
    assert result.exit_code == 1
    assert "POST /v1/webhookDeliveries: 422" in result.output
    assert "no-such-delivery" in result.output


# -- deliveries ---------------------------------------------------------------------------------


def test_deliveries_table(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    now = datetime.now(UTC).replace(microsecond=0)
    failed = fake_asc.add_delivery(
        hook,
        sample("appstoreconnect/build-upload-complete.json"),
        created=now - timedelta(hours=2),
        http_status=503,
        error_message="The endpoint answered HTTP 503.",
    )
    ok = fake_asc.add_delivery(
        hook,
        sample("appstoreconnect/app-version-in-review.json"),
        state="SUCCEEDED",
        created=now - timedelta(hours=1),
    )
    pinged = fake_asc.add_delivery(
        hook, sample("appstoreconnect/ping.json"), state="SUCCEEDED", created=now
    )
    result = run(env, "asc", "deliveries", hook)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "CREATED",
        "STATE",
        "HTTP",
        "EVENT",
        "EVENT",
        "ID",
        "DELIVERY",
        "ERROR",
    ]
    assert [line.split()[2:5] for line in lines[1:]] == [
        ["SUCCEEDED", "200", "ping"],
        ["SUCCEEDED", "200", "appStoreVersionAppVersionStateUpdated"],
        ["FAILED", "503", "buildUploadStateUpdated"],
    ]
    assert pinged in lines[1] and ok in lines[2] and failed in lines[3]
    assert lines[3].endswith("The endpoint answered HTTP 503.")
    assert (now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%SZ") in lines[3]  # shown in UTC


def test_deliveries_failed_and_json(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    body = sample("appstoreconnect/build-upload-complete.json").decode()
    failed = fake_asc.add_delivery(hook, body)
    fake_asc.add_delivery(
        hook, sample("appstoreconnect/app-version-in-review.json"), state="SUCCEEDED"
    )
    result = run(env, "asc", "deliveries", hook, "--failed", "--json")
    assert result.exit_code == 0
    [delivery] = json_lines(result)
    assert set(delivery) == {
        "id",
        "state",
        "created",
        "sent",
        "redelivery",
        "url",
        "http_status",
        "error",
        "event_id",
        "event",
    }
    assert delivery["id"] == failed
    assert delivery["state"] == "FAILED"
    assert delivery["http_status"] == 500
    assert delivery["url"] == "https://bridge.example/hooks/ios"
    assert delivery["event"] == {
        "id": "0b9a7c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d",
        "event_type": "BUILD_UPLOAD_STATE_UPDATED",
        "ping": False,
        "created": delivery["created"],
        "payload": body,
    }
    [request] = fake_asc.requests_to("/deliveries")
    assert request.args["filter[deliveryState]"] == "FAILED"
    assert request.args["include"] == "event"


def test_deliveries_empty(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    assert run(env, "asc", "deliveries", hook).output == "no deliveries\n"


@pytest.mark.parametrize(
    ("since", "sent"),
    [
        ("2025-12-01", "2025-12-01T00:00:00Z"),
        ("2025-12-01T08:00:00Z", "2025-12-01T08:00:00Z"),
        ("2025-12-01T08:00:00+02:00", "2025-12-01T06:00:00Z"),
        ("2025-12-01T08:00:00", "2025-12-01T08:00:00Z"),
    ],
)
def test_deliveries_since_a_date(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, since: str, sent: str
) -> None:
    hook = fake_asc.add_webhook(APP)
    assert run(env, "asc", "deliveries", hook, "--since", since).exit_code == 0
    [request] = fake_asc.requests_to("/deliveries")
    assert request.args["filter[createdDateGreaterThanOrEqualTo]"] == sent


def test_deliveries_since_a_time_ago(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    now = datetime.now(UTC)
    old = fake_asc.add_delivery(
        hook, sample("appstoreconnect/build-upload-complete.json"), created=now - timedelta(days=3)
    )
    recent = fake_asc.add_delivery(
        hook, sample("appstoreconnect/build-upload-failed.json"), created=now - timedelta(hours=2)
    )
    within_day = json_lines(run(env, "asc", "deliveries", hook, "--since", "24h", "--json"))
    assert [d["id"] for d in within_day] == [recent]
    within_week = json_lines(run(env, "asc", "deliveries", hook, "--since", "7d", "--json"))
    assert [d["id"] for d in within_week] == [recent, old]
    sent = fake_asc.requests_to("/deliveries")[0].args["filter[createdDateGreaterThanOrEqualTo]"]
    assert abs(datetime.fromisoformat(sent) - (now - timedelta(hours=24))).total_seconds() < 60


@pytest.mark.parametrize("since", ["yesterday", "12", "2025-13-01"])
def test_deliveries_refuses_a_bad_date(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, since: str
) -> None:
    result = run(env, "asc", "deliveries", "hook", "--since", since)
    assert result.exit_code == 2
    assert (
        f"'{since}' is not a date: use 2025-12-01, 2025-12-01T08:00:00Z, 24h or 7d" in result.output
    )
    assert fake_asc.requests == []


def test_deliveries_limit_pages_through(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    hook = fake_asc.add_webhook(APP)
    start = datetime.now(UTC) - timedelta(hours=5)
    for i in range(230):
        fake_asc.add_delivery(
            hook,
            {"data": {"type": "buildUploadStateUpdated", "id": f"event-{i}"}},
            created=start + timedelta(seconds=i),
        )
    found = json_lines(run(env, "asc", "deliveries", hook, "--limit", "210", "--json"))
    assert len(found) == 210
    assert found[0]["event_id"] == "event-229"  # newest first
    assert found[-1]["event_id"] == "event-20"
    requests = fake_asc.requests_to("/deliveries")
    assert len(requests) == 2
    assert requests[0].args["limit"] == "200"
    assert "cursor" in requests[1].args
    few = json_lines(run(env, "asc", "deliveries", hook, "--limit", "3", "--json"))
    assert [d["event_id"] for d in few] == ["event-229", "event-228", "event-227"]
    assert fake_asc.requests_to("/deliveries")[-1].args["limit"] == "3"


# -- errors -------------------------------------------------------------------------------------


def test_wrong_key_is_a_clear_401(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, asc_key: AscKey
) -> None:
    other = generate_asc_key(key_id=asc_key.key_id, issuer_id=asc_key.issuer_id)
    result = run(
        {**env, "ASC_PRIVATE_KEY": other.private_pem}, "asc", "webhooks", "list", "--app", APP
    )
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: GET /v1/apps/{APP}/webhooks: 401 NOT_AUTHORIZED")
    assert "check ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY" in line
    assert "PRIVATE KEY-----" not in result.output
    [request] = fake_asc.requests
    assert request.token is not None
    assert request.token not in result.output
    assert fake_asc.auth_failures[0].startswith("InvalidSignatureError")


def test_wrong_issuer_is_a_clear_401(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    result = run(
        {**env, "ASC_ISSUER_ID": "00000000-0000-0000-0000-000000000000"}, "asc", "ping", "x"
    )
    assert result.exit_code == 1
    assert "401 NOT_AUTHORIZED" in result.output
    assert "iss" in fake_asc.auth_failures[0]


def test_forbidden_is_an_auth_error(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    fake_asc.enqueue(403)
    result = run(env, "asc", "webhooks", "list", "--app", APP)
    assert result.exit_code == 1
    assert "403 FORBIDDEN_ERROR" in result.output
    assert "the key's role" in result.output


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (
            429,
            {"Retry-After": "30"},
            "429 RATE_LIMIT_EXCEEDED: The request rate limit has been reached.",
        ),
        (500, {}, "500 UNEXPECTED_ERROR: An unexpected error occurred."),
        (503, {}, "503"),
    ],
)
def test_transient_errors_say_try_again(
    env: dict[str, str],
    fake_asc: FakeAppStoreConnect,
    status: int,
    headers: dict[str, str],
    expected: str,
) -> None:
    hook = fake_asc.add_webhook(APP)
    fake_asc.enqueue(status, headers=headers, match="/deliveries")
    result = run(env, "asc", "deliveries", hook)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: GET /v1/webhooks/{hook}/deliveries: ")
    assert expected in line
    wait = "; App Store Connect asks to wait 30 s)" if headers else ")"
    assert line.endswith("(try again later" + wait)


def test_unreachable_api(env: dict[str, str], fake_asc: FakeAppStoreConnect) -> None:
    url = fake_asc.url
    fake_asc.stop()
    result = run({**env, "ASC_API_URL": url}, "asc", "webhooks", "list", "--app", APP)
    assert result.exit_code == 1
    assert f"GET /v1/apps/{APP}/webhooks: cannot reach App Store Connect" in result.output
    fake_asc.start()


def test_missing_key_names_the_variables(env: dict[str, str]) -> None:
    result = run(
        {**env, "ASC_KEY_ID": None, "ASC_PRIVATE_KEY": None},
        "asc",
        "webhooks",
        "list",
        "--app",
        APP,
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: the App Store Connect API key is not configured: set ASC_KEY_ID and "
        "ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)\n"
    )


def test_unreadable_key(env: dict[str, str]) -> None:
    result = run({**env, "ASC_PRIVATE_KEY": "not a key"}, "asc", "ping", "x")
    assert result.exit_code == 1
    assert "ASC_PRIVATE_KEY is not an App Store Connect key" in result.output


def test_key_from_a_file(
    env: dict[str, str], fake_asc: FakeAppStoreConnect, asc_key: AscKey, tmp_path: Path
) -> None:
    path = asc_key.write_p8(tmp_path)
    fake_asc.add_webhook(APP)
    result = run(
        {**env, "ASC_PRIVATE_KEY": None, "ASC_PRIVATE_KEY_PATH": str(path)},
        "asc",
        "webhooks",
        "list",
        "--app",
        APP,
    )
    assert result.exit_code == 0, result.output
