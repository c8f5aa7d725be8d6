import ast
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import PayloadError
from bridge.events import Instance
from bridge.providers import PROVIDERS, appstoreconnect, pgyer
from bridge.routing.targets import KIND_KEYS
from tests.support.providers import PROVIDER_MEMBERS

SAMPLES = Path(__file__).parent / "samples"
BRIDGE = Path(__file__).resolve().parents[1] / "bridge"
ASC = PROVIDERS["appstoreconnect"]
PGYER = PROVIDERS["pgyer"]


def asc_body(event_type: str, attributes: dict[str, Any], instance: Any = None) -> bytes:
    data: dict[str, Any] = {"type": event_type, "id": "evt-1", "attributes": attributes}
    if instance is not None:
        data["relationships"] = {"instance": instance}
    return json.dumps({"data": data}).encode()


# Every App Store Connect sample, with what the parser must make of it.
@pytest.mark.parametrize(
    ("sample", "event_type", "old", "new", "instance_type"),
    [
        ("ping.json", "webhookPingCreated", None, None, None),
        ("build-upload-complete.json", "buildUploadStateUpdated", "PROCESSING", "COMPLETE", "buildUploads"),
        ("build-upload-failed.json", "buildUploadStateUpdated", "PROCESSING", "FAILED", "buildUploads"),
        ("app-version-prepare-for-submission.json", "appStoreVersionAppVersionStateUpdated", "DEVELOPER_REJECTED", "PREPARE_FOR_SUBMISSION", "appStoreVersions"),
        ("app-version-ready-for-review.json", "appStoreVersionAppVersionStateUpdated", "PREPARE_FOR_SUBMISSION", "READY_FOR_REVIEW", "appStoreVersions"),
        ("app-version-waiting-for-review.json", "appStoreVersionAppVersionStateUpdated", "READY_FOR_REVIEW", "WAITING_FOR_REVIEW", "appStoreVersions"),
        ("app-version-developer-rejected.json", "appStoreVersionAppVersionStateUpdated", "WAITING_FOR_REVIEW", "DEVELOPER_REJECTED", "appStoreVersions"),
        ("app-version-in-review.json", "appStoreVersionAppVersionStateUpdated", "WAITING_FOR_REVIEW", "IN_REVIEW", "appStoreVersions"),
        ("app-version-pending-developer-release.json", "appStoreVersionAppVersionStateUpdated", "IN_REVIEW", "PENDING_DEVELOPER_RELEASE", "appStoreVersions"),
        ("app-version-rejected.json", "appStoreVersionAppVersionStateUpdated", "IN_REVIEW", "REJECTED", "appStoreVersions"),
        ("app-version-ready-for-distribution.json", "appStoreVersionAppVersionStateUpdated", "PENDING_DEVELOPER_RELEASE", "READY_FOR_DISTRIBUTION", "appStoreVersions"),
        ("beta-feedback-crash.json", "betaFeedbackCrashSubmissionCreated", None, None, "betaFeedbackCrashSubmissions"),
        ("beta-feedback-screenshot.json", "betaFeedbackScreenshotSubmissionCreated", None, None, "betaFeedbackScreenshotSubmissions"),
    ],
)  # fmt: skip
def test_appstoreconnect_samples(
    sample: str, event_type: str, old: str | None, new: str | None, instance_type: str | None
) -> None:
    body = (SAMPLES / "appstoreconnect" / sample).read_bytes()
    event = ASC.parse(body, source="ios")
    raw = json.loads(body)["data"]
    assert (event.source, event.provider, event.type) == ("ios", "appstoreconnect", event_type)
    assert event.id == raw["id"]
    assert (event.old_state, event.new_state) == (old, new)
    assert (event.instance.type if event.instance else None) == instance_type
    if instance_type:
        assert event.instance == Instance(
            instance_type, raw["relationships"]["instance"]["data"]["id"]
        )
    assert event.timestamp == raw["attributes"].get("timestamp")
    assert event.payload == json.loads(body)


def test_every_sample_file_is_covered() -> None:
    webhook_samples = {p.name for p in (SAMPLES / "appstoreconnect").glob("*.json")}
    webhook_samples = {n for n in webhook_samples if not n.startswith("api-")}
    source = Path(__file__).read_text()
    assert all(f'"{name}"' in source for name in webhook_samples)


# All 12 subscribable event types and the ping, in the shapes Apple documents.
WRAPPED = {"data": {"type": "T", "id": "inst-1"}, "links": {"self": "https://x/T/inst-1"}}
UNWRAPPED = {"type": "T", "id": "inst-1", "links": {"self": "https://x/T/inst-1"}}


@pytest.mark.parametrize(
    ("event_type", "attributes", "instance", "old", "new"),
    [
        ("webhookPingCreated", {"timestamp": "t"}, None, None, None),
        ("appStoreVersionAppVersionStateUpdated", {"oldValue": "IN_REVIEW", "newValue": "REJECTED"}, WRAPPED, "IN_REVIEW", "REJECTED"),
        ("buildUploadStateUpdated", {"newState": "COMPLETE"}, WRAPPED, None, "COMPLETE"),
        ("buildBetaDetailExternalBuildStateUpdated", {"oldExternalBuildState": "IN_BETA_REVIEW", "newExternalBuildState": "BETA_APPROVED"}, WRAPPED, "IN_BETA_REVIEW", "BETA_APPROVED"),
        ("betaFeedbackScreenshotSubmissionCreated", {"timestamp": "t"}, WRAPPED, None, None),
        ("betaFeedbackCrashSubmissionCreated", {"timestamp": "t"}, WRAPPED, None, None),
        ("backgroundAssetVersionStateUpdated", {"oldState": "PROCESSING", "newState": "FAILED"}, UNWRAPPED, "PROCESSING", "FAILED"),
        ("backgroundAssetVersionInternalBetaReleaseCreated", {"timestamp": "t"}, UNWRAPPED, None, None),
        ("backgroundAssetVersionExternalBetaReleaseStateUpdated", {"oldState": "IN_REVIEW", "newState": "READY_FOR_TESTING"}, UNWRAPPED, "IN_REVIEW", "READY_FOR_TESTING"),
        ("backgroundAssetVersionAppStoreReleaseStateUpdated", {"oldState": "IN_REVIEW", "newState": "READY_FOR_DISTRIBUTION"}, UNWRAPPED, "IN_REVIEW", "READY_FOR_DISTRIBUTION"),
        ("alternativeDistributionPackageVersionCreated", {"appId": "1", "timestamp": "t"}, WRAPPED, None, None),
        ("alternativeDistributionPackageAvailableUpdated", {"available": True, "territories": ["FR"], "appId": "1"}, WRAPPED, None, None),
        ("alternativeDistributionTerritoryAvailabilityUpdated", {"available": False, "territories": [], "appId": "1"}, None, None, None),
    ],
)  # fmt: skip
def test_every_event_type(
    event_type: str, attributes: dict[str, Any], instance: Any, old: str | None, new: str | None
) -> None:
    assert event_type in appstoreconnect.EVENT_TYPES
    event = ASC.parse(asc_body(event_type, attributes, instance), source="s")
    assert (event.type, event.old_state, event.new_state) == (event_type, old, new)
    assert event.instance == (Instance("T", "inst-1") if instance else None)


def test_thirteen_known_types() -> None:
    assert len(appstoreconnect.EVENT_TYPES) == 13


@pytest.mark.parametrize(
    ("attributes", "old", "new"),
    [
        ({"newValue": "COMPLETE"}, None, "COMPLETE"),
        ({"oldValue": "PROCESSING", "newValue": "FAILED"}, "PROCESSING", "FAILED"),
        ({"newState": "COMPLETE"}, None, "COMPLETE"),
        ({"oldState": "PROCESSING", "newValue": "COMPLETE"}, "PROCESSING", "COMPLETE"),
        ({"newState": 3}, None, None),
        ({}, None, None),
    ],
)
def test_build_upload_state_drift(
    attributes: dict[str, Any], old: str | None, new: str | None
) -> None:
    event = ASC.parse(asc_body("buildUploadStateUpdated", attributes, WRAPPED), source="s")
    assert (event.old_state, event.new_state) == (old, new)


def test_app_version_prefers_documented_keys() -> None:
    attributes = {"oldValue": "IN_REVIEW", "newValue": "REJECTED", "newState": "OTHER"}
    event = ASC.parse(asc_body("appStoreVersionAppVersionStateUpdated", attributes), source="s")
    assert event.new_state == "REJECTED"


def test_unknown_event_type_is_kept() -> None:
    event = ASC.parse(asc_body("somethingNewFromApple", {"newState": "X"}, WRAPPED), source="s")
    assert (event.type, event.new_state) == ("somethingNewFromApple", "X")


@pytest.mark.parametrize(
    "instance",
    [{"data": None}, {"data": {"type": "T"}}, {"links": {}}, "x", {"type": 1, "id": "2"}],
)
def test_malformed_instance_is_none(instance: Any) -> None:
    event = ASC.parse(asc_body("buildUploadStateUpdated", {}, instance), source="s")
    assert event.instance is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[1, 2]", "must be a JSON object, got list"),
        (b"null", "got NoneType"),
        (b'{"data": NaN}', "not valid JSON"),
        (b"{}", "'data' object"),
        (b'{"data": []}', "'data' object"),
        (b'{"data": {"type": "x"}}', "data.id"),
        (b'{"data": {"id": "x"}}', "data.type"),
        (b'{"data": {"id": 1, "type": "x"}}', "data.id"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"data": ' + b"1" * 5000 + b"}", "not valid JSON"),
    ],
    ids=lambda v: v[:20] if isinstance(v, bytes) else v,
)
def test_appstoreconnect_malformed(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        ASC.parse(body, source="s")


@pytest.mark.parametrize(
    ("sample", "event_type"),
    [
        ("update-version.json", "updateVersion"),
        ("feedback.json", "feedback"),
        ("crashlog.json", "crashlog"),
    ],
)
def test_pgyer_samples(sample: str, event_type: str) -> None:
    body = (SAMPLES / "pgyer" / sample).read_bytes()
    event = PGYER.parse(body, source="beta")
    assert (event.provider, event.type, event.source) == ("pgyer", event_type, "beta")
    assert event.timestamp == "2015-10-09T03:25:18Z"
    assert event.id.startswith("sha256:")
    assert (event.old_state, event.new_state, event.instance) == (None, None, None)
    assert event.payload["os_version"] == "2.4"


def test_pgyer_id_is_stable_across_serializations() -> None:
    payload = json.loads((SAMPLES / "pgyer" / "update-version.json").read_bytes())
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    reordered = json.dumps(dict(reversed(payload.items())), indent=4).encode()
    ids = {PGYER.parse(b, source="s").id for b in (compact, reordered)}
    assert len(ids) == 1
    other = dict(payload, build_version="140")
    assert PGYER.parse(json.dumps(other).encode(), source="s").id not in ids


def test_pgyer_uses_payload_id_when_present() -> None:
    event = PGYER.parse(b'{"type": "updateVersion", "id": 42}', source="s")
    assert event.id == "42"


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        ('{"action": "应用更新"}', "updateVersion"),
        ('{"action": "应用反馈"}', "feedback"),
        ('{"type": "appDeleted", "action": "删除应用"}', "appDeleted"),
    ],
)
def test_pgyer_lenient_types(body: str, event_type: str) -> None:
    assert PGYER.parse(body.encode(), source="s").type == event_type


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [(1444361118, "2015-10-09T03:25:18Z"), ("1444361118", "2015-10-09T03:25:18Z"),
     (None, None), ("yesterday", None), (True, None), (-5, None), (10**20, None)],
)  # fmt: skip
def test_pgyer_timestamp(timestamp: Any, expected: str | None) -> None:
    body = json.dumps({"type": "updateVersion", "timestamp": timestamp}).encode()
    assert PGYER.parse(body, source="s").timestamp == expected


@pytest.mark.parametrize(
    "body", [b'{"title": "x"}', b'{"type": ""}', b'{"type": 5}', b'{"action": "unknown"}', b"[]"]
)
def test_pgyer_malformed(body: bytes) -> None:
    with pytest.raises(PayloadError):
        PGYER.parse(body, source="s")


def test_credentials_round_trip() -> None:
    body = b'{"data": {}}'
    headers, query = ASC.credentials(body, "s3cret")
    ASC.authenticate(
        body, headers={k.lower(): v for k, v in headers.items()}, query=query, secrets=["s3cret"]
    )
    headers, query = PGYER.credentials(body, "tok")
    assert query == {pgyer.TOKEN_PARAM: "tok"}
    PGYER.authenticate(body, headers=headers, query=query, secrets=["tok"])


# --- what each provider declares (routing, the schema and the payload tester read it) ------


def test_the_provider_protocol() -> None:
    assert PROVIDER_MEMBERS == [
        "NAME", "EVENT_TYPES", "STATES_BY_EVENT_TYPE", "STATES", "OLD_STATE_OPTIONAL",
        "CREDENTIAL_KEYS", "EXAMPLE", "authenticate", "parse", "credentials",
    ]  # fmt: skip


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_a_provider_is_registered_under_its_name_with_every_member(name: str) -> None:
    provider = PROVIDERS[name]
    assert name == provider.NAME
    assert all(hasattr(provider, member) for member in PROVIDER_MEMBERS)


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_states_are_declared_per_event_type(name: str) -> None:
    provider = PROVIDERS[name]
    assert set(provider.STATES_BY_EVENT_TYPE) == provider.EVENT_TYPES
    every_state = frozenset().union(*provider.STATES_BY_EVENT_TYPE.values())
    assert every_state == provider.STATES


def test_appstoreconnect_states_follow_the_event_type() -> None:
    states = appstoreconnect.STATES_BY_EVENT_TYPE
    assert "READY_FOR_DISTRIBUTION" in states["appStoreVersionAppVersionStateUpdated"]
    assert "READY_FOR_DISTRIBUTION" not in states["buildUploadStateUpdated"]
    assert states["buildUploadStateUpdated"] == {"AWAITING_UPLOAD", "PROCESSING", "FAILED", "COMPLETE"}  # fmt: skip
    assert "BETA_APPROVED" in states["buildBetaDetailExternalBuildStateUpdated"]
    assert states["betaFeedbackCrashSubmissionCreated"] == frozenset()
    assert not pgyer.STATES  # Pgyer reports no state transitions


@pytest.mark.parametrize(
    "sample",
    sorted(
        p.relative_to(SAMPLES).as_posix()
        for p in SAMPLES.glob("*/*.json")
        if not p.name.startswith("api-")
    ),
)
def test_every_sample_carries_states_its_event_type_declares(sample: str) -> None:
    provider = PROVIDERS[sample.partition("/")[0]]
    event = provider.parse((SAMPLES / sample).read_bytes(), source="s")
    declared = provider.STATES_BY_EVENT_TYPE[event.type]
    assert {event.old_state, event.new_state} - {None} <= declared


def test_credential_keys_are_shared_whole_or_not_at_all() -> None:
    pairs = {provider.CREDENTIAL_KEYS for provider in PROVIDERS.values()}
    keys = [key for pair in pairs for key in pair]
    assert len(keys) == len(set(keys))  # no key in two different pairs
    assert appstoreconnect.CREDENTIAL_KEYS == ("secret", "secrets")
    assert PROVIDERS["github"].CREDENTIAL_KEYS == ("secret", "secrets")
    assert pgyer.CREDENTIAL_KEYS == ("token", "tokens")


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_the_example_is_an_event_of_the_provider(name: str) -> None:
    provider = PROVIDERS[name]
    event = provider.parse(json.dumps(provider.EXAMPLE).encode(), source="s")
    assert event.provider == name
    assert event.type in provider.EVENT_TYPES
    assert {event.old_state, event.new_state} - {None} <= provider.STATES_BY_EVENT_TYPE[event.type]


def test_routing_and_the_payload_tester_name_no_provider_knowledge() -> None:
    """They read names, credential keys, event types and states from PROVIDERS: a provider's
    knowledge written out as a literal there would go stale when a provider changes."""
    declared = set(PROVIDERS) | {
        item
        for provider in PROVIDERS.values()
        for item in (*provider.CREDENTIAL_KEYS, *provider.EVENT_TYPES, *provider.STATES)
    }
    declared -= set().union(*KIND_KEYS.values())  # a target's `secret`/`token` is its own key
    modules = [*sorted((BRIDGE / "routing").glob("*.py")), BRIDGE / "ui" / "payload_tester.py"]
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        literals = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not literals & declared, module.relative_to(BRIDGE.parent)
