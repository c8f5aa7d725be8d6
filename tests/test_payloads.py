import json
from typing import Any

import pytest

from bridge.delivery.rendering import build_request, standard_payload
from bridge.errors import RenderError
from bridge.events import Event, Instance
from bridge.routing.model import RepositoryDispatch, Route, WorkflowDispatch

EVENT = Event(
    source="ios",
    provider="appstoreconnect",
    type="buildUploadStateUpdated",
    id="evt-1",
    old_state="PROCESSING",
    new_state="COMPLETE",
    instance=Instance("buildUploads", "bu-1"),
    timestamp="2025-12-25T08:28:35Z",
    payload={"data": {"attributes": {"newState": "COMPLETE"}, "list": [1, 2]}, "n": 7},
)


def repo_route(client_payload: dict[str, Any] | None = None, event_type: str = "built") -> Route:
    dispatch = RepositoryDispatch("acme/app", event_type, client_payload)
    return Route("r1", None, None, None, None, (), dispatch)


def workflow_route(inputs: dict[str, Any] | None) -> Route:
    dispatch = WorkflowDispatch("acme/app", "release.yml", "main", inputs)
    return Route("wf", None, None, None, None, (), dispatch)


def test_standard_payload_when_route_gives_none() -> None:
    request = build_request(repo_route(), EVENT, delivery_id="d-1")
    assert request.kind == "repository_dispatch"
    assert request.path == "/repos/acme/app/dispatches"
    assert request.body == {
        "event_type": "built",
        "client_payload": {
            "source": "ios",
            "provider": "appstoreconnect",
            "event": "buildUploadStateUpdated",
            "event_id": "evt-1",
            "old_state": "PROCESSING",
            "new_state": "COMPLETE",
            "instance": {"type": "buildUploads", "id": "bu-1"},
            "timestamp": "2025-12-25T08:28:35Z",
            "bridge": {"delivery_id": "d-1", "route": "r1"},
        },
    }
    assert len(standard_payload(EVENT, repo_route(), "d")) <= 10


def test_templates_render_over_event_payload_and_delivery() -> None:
    templates = {
        "build": "{{ event.instance.id }}",
        "state": "{{ payload.data.attributes.newState | lower }}",
        "second": "{{ payload.data.list[1] }}",
        "static": "plain text",
        "number": 3,
        "nested": {"who": "{{ delivery.route }}", "list": ["{{ event.type }}", True]},
        "correlation": "{{ delivery.id }}",
    }
    body = build_request(repo_route(templates), EVENT, delivery_id="d-9").body
    assert body["client_payload"] == {
        "build": "bu-1",
        "state": "complete",
        "second": "2",
        "static": "plain text",
        "number": 3,
        "nested": {"who": "r1", "list": ["buildUploadStateUpdated", True]},
        "correlation": "d-9",
        "bridge": {"delivery_id": "d-9", "route": "r1"},
    }


def test_workflow_dispatch_body() -> None:
    route = workflow_route({"version": "{{ event.new_state }}", "dry": False})
    request = build_request(route, EVENT, delivery_id="d-1")
    assert request.kind == "workflow_dispatch"
    assert request.path == "/repos/acme/app/actions/workflows/release.yml/dispatches"
    assert request.body == {
        "ref": "main",
        "inputs": {"version": "COMPLETE", "dry": False},
        "return_run_details": True,
    }
    assert request.as_dict()["method"] == "POST"


def test_workflow_without_inputs_sends_empty_inputs() -> None:
    assert build_request(workflow_route(None), EVENT, delivery_id="d").body["inputs"] == {}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ payload.missing }}", "client_payload.x: UndefinedError"),
        ("{{ event.nope.deeper }}", "UndefinedError"),
        ("{{ ''.__class__.__mro__ }}", "client_payload.x: SecurityError"),
        ("{{ payload.n.__init__.__globals__ }}", "SecurityError"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ range(10**9) | list | length }}", "OverflowError"),
    ],
)
def test_template_failures_become_render_errors(template: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        build_request(repo_route({"x": template}), EVENT, delivery_id="d")


def test_sandbox_is_immutable() -> None:
    route = repo_route({"x": "{{ payload.data.list.append(3) }}"})
    with pytest.raises(RenderError, match="SecurityError"):
        build_request(route, EVENT, delivery_id="d")
    assert EVENT.payload["data"]["list"] == [1, 2]


def test_default_filter_tolerates_missing_fields() -> None:
    route = repo_route({"x": "{{ payload.missing | default('none') }}"})
    assert build_request(route, EVENT, delivery_id="d").body["client_payload"]["x"] == "none"


def test_client_payload_key_limit_counts_the_bridge_key() -> None:
    nine = {f"k{i}": i for i in range(9)}
    assert len(build_request(repo_route(nine), EVENT, delivery_id="d").body["client_payload"]) == 10
    with pytest.raises(RenderError, match="11 top-level keys; GitHub allows 10"):
        build_request(repo_route({**nine, "k9": 9}), EVENT, delivery_id="d")


def test_client_payload_size_limit() -> None:
    event = Event("s", "p", "t", "i", payload={"blob": "é" * 40_000})  # 80,000 bytes in UTF-8
    with pytest.raises(RenderError, match=r"bytes of JSON; GitHub requires < 64 KB"):
        build_request(repo_route({"blob": "{{ payload.blob }}"}), event, delivery_id="d")
    small = Event("s", "p", "t", "i", payload={"blob": "x" * 60_000})
    body = build_request(repo_route({"blob": "{{ payload.blob }}"}), small, delivery_id="d").body
    assert len(json.dumps(body["client_payload"]).encode()) < 64 * 1024


def test_inputs_limits() -> None:
    with pytest.raises(RenderError, match="26 keys; GitHub allows 25"):
        build_request(workflow_route({f"i{n}": "v" for n in range(26)}), EVENT, delivery_id="d")
    event = Event("s", "p", "t", "i", payload={"blob": "x" * 70_000})
    with pytest.raises(RenderError, match="characters of JSON; GitHub allows 65,535"):
        build_request(workflow_route({"b": "{{ payload.blob }}"}), event, delivery_id="d")


def test_event_type_limit_is_rechecked_at_render() -> None:
    with pytest.raises(RenderError, match="101 characters"):
        build_request(repo_route(event_type="e" * 101), EVENT, delivery_id="d")
