"""The workflow examples against the shipped routes.yaml.

Every ``repository_dispatch`` type a workflow listens for, every ``workflow_dispatch`` input it
declares and every ``client_payload`` / ``inputs`` field it reads is checked against what the
routes really send: the requests bridge.delivery.rendering renders for the sample payloads in
tests/samples/. A mismatch here is a workflow that never runs, a dispatch GitHub refuses
(422: unexpected or missing inputs) or a field that is silently empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.rendering import CORRELATION_KEY, MAX_INPUTS, build_request
from bridge.providers import PROVIDERS
from bridge.routing.load import load_routes
from bridge.routing.matching import match
from bridge.routing.model import (
    RepositoryDispatch,
    Route,
    RoutesConfig,
    WorkflowDispatch,
)
from tests.support.samples import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "workflows-examples"
# Dummy values: the routes only need them to load.
ENV = {"ASC_WEBHOOK_SECRET": "x", "PGYER_WEBHOOK_TOKEN": "y", "GITHUB_TOKEN": "z"}
DELIVERY_ID = "00000000-0000-4000-8000-000000000000"
# Shows every event; the other examples act on them.
DEBUG_WORKFLOW = "bridge-events.yml"
# docs/architecture.md, "Contract: routes.yaml": the standard payload gains `details` when App
# Store Connect enrichment is on.
# Workflows may read it (and must cope without it) only where the standard payload is sent.
ENRICHMENT_KEY = "details"

PAYLOAD_READ = re.compile(r"github\.event\.client_payload((?:\.[A-Za-z_][\w-]*)*)(\[)?")
INPUT_READ = re.compile(r"(?<![\w.])(?:github\.event\.)?inputs\.([A-Za-z_][\w-]*)")
PINNED_USES = re.compile(r"^\s*(?:-\s*)?uses:\s*[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(?:\.\d+)*\s*$")


@dataclass(frozen=True)
class Workflow:
    path: Path

    @cached_property
    def data(self) -> dict[Any, Any]:
        data = yaml.safe_load(self.path.read_text())
        assert isinstance(data, dict), self.path
        return data

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def on(self) -> dict[str, Any]:
        on = self.data.get(True, self.data.get("on"))  # YAML 1.1 reads the key `on` as True
        assert isinstance(on, dict), f"{self.name}: `on:` must be a mapping"
        return on

    @property
    def types(self) -> list[str]:
        trigger = self.on.get("repository_dispatch")
        return list((trigger or {}).get("types", [])) if "repository_dispatch" in self.on else []

    @property
    def inputs(self) -> dict[str, dict[str, Any]] | None:
        """Declared workflow_dispatch inputs; None when the workflow has no such trigger."""
        if "workflow_dispatch" not in self.on:
            return None
        return dict((self.on["workflow_dispatch"] or {}).get("inputs") or {})

    def strings(self) -> Iterator[str]:
        """Every key and value of the document (comments are not in it)."""
        stack: list[Any] = [self.data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(k for k in node if isinstance(k, str))
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str):
                yield node

    def payload_reads(self) -> set[tuple[str, ...]]:
        """Paths under github.event.client_payload that the workflow reads."""
        reads: set[tuple[str, ...]] = set()
        for text in self.strings():
            for found in PAYLOAD_READ.finditer(text):
                assert not found.group(2), f"{self.name}: read client_payload with dot syntax"
                if found.group(1):
                    reads.add(tuple(found.group(1).lstrip(".").split(".")))
        return reads

    def input_reads(self) -> set[str]:
        return {m.group(1) for text in self.strings() for m in INPUT_READ.finditer(text)}

    def run_scripts(self) -> Iterator[tuple[str, str]]:
        for job_name, job in self.data.get("jobs", {}).items():
            for step in job.get("steps", []):
                if "run" in step:
                    yield f"{job_name}/{step.get('name', '?')}", step["run"]


def workflows() -> list[Workflow]:
    return [Workflow(path) for path in sorted(EXAMPLES.glob("*.yml"))]


@pytest.fixture(scope="module")
def shipped() -> RoutesConfig:
    return load_routes(ROOT / "routes.yaml", ENV)


def rendered_requests(config: RoutesConfig) -> dict[str, list[DispatchRequest]]:
    """Per route, the request it sends for each sample payload it matches."""
    sent: dict[str, list[DispatchRequest]] = {route.name: [] for route in config.routes}
    for sample in sorted(SAMPLES.rglob("*.json")):
        if sample.name.startswith("api-"):  # App Store Connect API answers, not webhooks
            continue
        provider = PROVIDERS[sample.parent.name]
        for source in (s for s in config.sources.values() if s.provider == provider.NAME):
            event = provider.parse(sample.read_bytes(), source=source.name)
            for route in match(config, event):
                sent[route.name].append(build_request(route, event, delivery_id=DELIVERY_ID))
    return sent


@pytest.fixture(scope="module")
def sent(shipped: RoutesConfig) -> dict[str, list[DispatchRequest]]:
    return rendered_requests(shipped)


def triggering_routes(workflow: Workflow, config: RoutesConfig) -> list[Route]:
    """The routes whose dispatch starts ``workflow``."""

    def starts(spec: object) -> bool:
        if isinstance(spec, RepositoryDispatch):
            return spec.event_type in workflow.types
        return isinstance(spec, WorkflowDispatch) and spec.workflow == workflow.name

    return [route for route in config.routes if starts(route.dispatch)]


def resolves(payload: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    """Whether every segment of ``path`` is a key (the last one may hold null)."""
    node: Any = payload
    for segment in path:
        if not isinstance(node, Mapping) or segment not in node:
            return False
        node = node[segment]
    return True


def mismatches(
    workflow: Workflow, config: RoutesConfig, sent: Mapping[str, list[DispatchRequest]]
) -> list[str]:
    """What ``workflow`` expects that the routes do not send, one sentence each."""
    found: list[str] = []
    sent_types = {
        r.dispatch.event_type for r in config.routes if isinstance(r.dispatch, RepositoryDispatch)
    }
    found += [
        f"{workflow.name} listens for {event_type!r}, which no route sends"
        for event_type in workflow.types
        if event_type not in sent_types
    ]
    declared = workflow.inputs
    if declared is not None and len(declared) > MAX_INPUTS:
        found.append(f"{workflow.name} declares {len(declared)} inputs; GitHub allows {MAX_INPUTS}")
    routes = triggering_routes(workflow, config)
    if not routes:
        found.append(f"{workflow.name}: no route in routes.yaml starts it")
    for route in routes:
        if not sent[route.name]:
            found.append(f"route {route.name}: no sample in tests/samples/ matches it")
        for request in sent[route.name]:
            if request.kind == "repository_dispatch":
                found += payload_mismatches(workflow, route, request.body["client_payload"])
            else:
                found += input_mismatches(workflow, route, request.body["inputs"])
    return found


def payload_mismatches(workflow: Workflow, route: Route, payload: dict[str, Any]) -> list[str]:
    standard = isinstance(route.dispatch, RepositoryDispatch) and (
        route.dispatch.client_payload is None
    )
    found = [
        f"{workflow.name} reads client_payload.{'.'.join(path)}, which route {route.name} "
        f"does not send (it sends {sorted(payload)})"
        for path in sorted(workflow.payload_reads())
        if not (standard and path[0] == ENRICHMENT_KEY) and not resolves(payload, path)
    ]
    found += [
        f"{workflow.name} reads inputs.{field}; route {route.name} sends no inputs"
        for field in sorted(workflow.input_reads())
    ]
    return found


def input_mismatches(workflow: Workflow, route: Route, inputs: dict[str, Any]) -> list[str]:
    name, declared = workflow.name, workflow.inputs
    if declared is None:
        return [f"{name} has no workflow_dispatch trigger; route {route.name} needs one"]
    # GitHub answers 422 to an undeclared input and to a missing required one.
    found = [
        f"route {route.name} sends input {field!r}, which {name} does not declare"
        for field in sorted(set(inputs) - set(declared))
    ]
    for field, declaration in sorted(declared.items()):
        spec = declaration or {}
        if spec.get("required") and field not in inputs:
            found.append(f"{name} requires input {field!r}; route {route.name} omits it")
        if field in inputs and not isinstance(inputs[field], str):
            found.append(f"route {route.name}: input {field!r} is not a string")
        choices = spec.get("options") if spec.get("type") == "choice" else None
        if choices is not None and field in inputs and inputs[field] not in choices:
            found.append(f"route {route.name}: input {field!r} is not one of {choices}")
    found += [
        f"{name} reads inputs.{field}, which route {route.name} does not send"
        for field in sorted(workflow.input_reads() - set(inputs))
    ]
    found += [
        f"{name} reads client_payload.{'.'.join(path)}; route {route.name} sends none"
        for path in sorted(workflow.payload_reads())
    ]
    return found


# --- the shipped files --------------------------------------------------------------------


@pytest.mark.parametrize("workflow", workflows(), ids=lambda w: w.name)
def test_workflow_reads_only_what_its_routes_send(
    workflow: Workflow, shipped: RoutesConfig, sent: dict[str, list[DispatchRequest]]
) -> None:
    assert mismatches(workflow, shipped, sent) == []


def test_every_route_is_rendered_from_a_sample(sent: dict[str, list[DispatchRequest]]) -> None:
    assert [name for name, requests in sent.items() if not requests] == []


def test_every_route_starts_a_workflow_that_acts_on_it(shipped: RoutesConfig) -> None:
    acting = [w for w in workflows() if w.name != DEBUG_WORKFLOW]
    started = {r.name for w in acting for r in triggering_routes(w, shipped)}
    assert [r.name for r in shipped.routes if r.name not in started] == []


def test_workflow_dispatch_targets_exist(shipped: RoutesConfig) -> None:
    names = {w.name for w in workflows()}
    targets = {
        r.dispatch.workflow for r in shipped.routes if isinstance(r.dispatch, WorkflowDispatch)
    }
    assert targets
    assert targets <= names


def test_every_sent_payload_carries_the_correlation_key(
    sent: dict[str, list[DispatchRequest]],
) -> None:
    for requests in sent.values():
        for request in requests:
            if request.kind == "repository_dispatch":
                assert request.body["client_payload"][CORRELATION_KEY]["delivery_id"] == DELIVERY_ID


@pytest.mark.parametrize("workflow", workflows(), ids=lambda w: w.name)
def test_run_scripts_take_expressions_through_env_only(workflow: Workflow) -> None:
    scripts = dict(workflow.run_scripts())
    assert scripts
    assert [where for where, script in scripts.items() if "${{" in script] == []


@pytest.mark.parametrize("workflow", workflows(), ids=lambda w: w.name)
def test_actions_are_pinned_by_commit_with_their_version(workflow: Workflow) -> None:
    lines = [line for line in workflow.path.read_text().splitlines() if "uses:" in line]
    assert [line for line in lines if not PINNED_USES.match(line)] == []


@pytest.mark.parametrize("workflow", workflows(), ids=lambda w: w.name)
def test_permissions_are_empty_by_default_and_granted_per_job(workflow: Workflow) -> None:
    assert workflow.data.get("permissions") == {}
    jobs = workflow.data["jobs"]
    assert [name for name, job in jobs.items() if "permissions" not in job] == []


def test_fastfile_has_the_lanes_the_workflows_run() -> None:
    fastfile = (EXAMPLES / "fastlane" / "Fastfile").read_text()
    lanes = set(re.findall(r"^\s*lane :(\w+) do", fastfile, re.MULTILINE))
    used: set[str] = set()
    for workflow in workflows():
        for _, script in workflow.run_scripts():
            used |= set(re.findall(r"fastlane ios (\w+)", script))
    assert used
    assert used <= lanes
    assert "skip_waiting_for_build_processing: true" in fastfile


# --- the checker finds what it is meant to find ---------------------------------------------


def altered(tmp_path: Path, name: str, old: str, new: str) -> Workflow:
    text = (EXAMPLES / name).read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new))
    return Workflow(path)


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("pgyer-new-build.yml", "client_payload.install_url", "client_payload.download_url", "reads client_payload.download_url, which route pgyer-new-build does not send"),
        ("submit-for-review.yml", "client_payload.instance.id", "client_payload.instance.uuid", "reads client_payload.instance.uuid"),
        ("submit-for-review.yml", "types: [asc-build-complete]", "types: [asc-build-completed]", "listens for 'asc-build-completed', which no route sends"),
        ("gitflow-release.yml", "app_store_version_id:\n        description", "version_id:\n        description", "sends input 'app_store_version_id', which gitflow-release.yml does not declare"),
        ("gitflow-release.yml", "inputs.bridge_delivery_id", "inputs.delivery", "reads inputs.delivery, which route gitflow-release does not send"),
        ("gitflow-release.yml", "      bridge_delivery_id:\n        description", "      ticket:\n        required: true\n        type: string\n      bridge_delivery_id:\n        description", "requires input 'ticket'; route gitflow-release omits it"),
    ],
)  # fmt: skip
def test_the_check_catches_a_mismatch(
    tmp_path: Path,
    shipped: RoutesConfig,
    sent: dict[str, list[DispatchRequest]],
    name: str,
    old: str,
    new: str,
    expected: str,
) -> None:
    found = mismatches(altered(tmp_path, name, old, new), shipped, sent)
    assert any(expected in problem for problem in found), found


def test_enrichment_details_are_allowed_only_with_the_standard_payload(
    tmp_path: Path, shipped: RoutesConfig, sent: dict[str, list[DispatchRequest]]
) -> None:
    # pgyer-new-build sends its own client_payload: bridge never adds `details` to it.
    workflow = altered(
        tmp_path,
        "pgyer-new-build.yml",
        "client_payload.notes",
        "client_payload.details.notes",
    )
    found = mismatches(workflow, shipped, sent)
    assert any("reads client_payload.details.notes" in problem for problem in found), found
