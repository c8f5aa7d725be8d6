"""routes.schema.json as an editor applies it: to the file as written, before `${VAR}`
interpolation. The shipped routes.yaml and every routes example in the README and docs
validate with a standard JSON Schema validator, and real mistakes are still caught."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bridge.routing.load import load_routes
from bridge.routing.model import RoutesError

ROOT = Path(__file__).parent.parent
SCHEMA = json.loads((ROOT / "routes.schema.json").read_text())
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ROUTE = {"name": "r", "event": "buildUploadStateUpdated"}


def errors(document: Any) -> list[str]:
    validator = Draft202012Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(document)]


def routes_examples() -> list[tuple[str, str]]:
    """(where, text) of every ```yaml block in the docs that is a routes.yaml."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.DOTALL):
            block = match.group(1)
            if re.match(r"(sources|routes):", block):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{doc.name}:{line}", block))
    return found


def test_the_docs_have_routes_examples() -> None:
    assert len(routes_examples()) >= 3


def test_the_shipped_routes_yaml_validates_as_written() -> None:
    text = (ROOT / "routes.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=./routes.schema.json")
    assert errors(yaml.safe_load(text)) == []


@pytest.mark.parametrize(("where", "block"), routes_examples(), ids=lambda v: str(v)[:20])
def test_every_routes_example_in_the_docs_validates(where: str, block: str) -> None:
    assert errors(yaml.safe_load(block)) == [], where


@pytest.mark.parametrize(
    "repository",
    [
        "acme/ios-app",
        "${IOS_REPOSITORY}",
        "${IOS_REPOSITORY:-acme/ios-app}",
        "${GITHUB_ORG}/ios-app",
        "acme/${APP:-ios-app}",
    ],
)
def test_placeholders_are_accepted_where_the_loader_takes_them(repository: str) -> None:
    route = {**ROUTE, "dispatch": {"repository": repository, "event_type": "x"}}
    assert errors({"sources": {"s": {"provider": "pgyer"}}, "routes": [route]}) == []


@pytest.mark.parametrize(
    "repository",
    ["acme", "acme/ios app", "${IOS_REPOSITORY:-acme}", "${IOS REPOSITORY}", "$IOS_REPOSITORY"],
)
def test_real_mistakes_are_still_caught(repository: str) -> None:
    route = {**ROUTE, "dispatch": {"repository": repository, "event_type": "x"}}
    assert errors({"sources": {"s": {"provider": "pgyer"}}, "routes": [route]}) != []


def test_a_literal_dollar_brace_left_after_interpolation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(
        "sources:\n  s: {provider: pgyer, token: t}\nroutes:\n  - name: r\n    event: x\n"
        "    dispatch:\n      repository: $${ORG}/app\n      event_type: x\n"
    )
    with pytest.raises(RoutesError) as caught:
        load_routes(path, {})
    assert caught.value.problems == [
        f"{path}:7: routes[0].dispatch.repository: must be owner/name, e.g. acme/ios-app"
    ]
