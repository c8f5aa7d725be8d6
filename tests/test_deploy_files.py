"""The one-click deploy files agree with the code and with each other: app.json (Heroku
button), render.yaml (Render Blueprint), Procfile, .python-version, requirements.txt.

"What the code reads" is collected, not listed by hand: Settings.from_env and log_format are
run against an environment that records every variable asked for, the source is searched for
``os.environ`` reads, and routes.yaml for its ``${VAR}`` references."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bridge import create_app
from tests.support.app import close_app
from tests.support.environment import code_variables

ROOT = Path(__file__).resolve().parent.parent
APP = json.loads((ROOT / "app.json").read_text())
RENDER = yaml.safe_load((ROOT / "render.yaml").read_text())
[WEB] = [s for s in RENDER["services"] if s["type"] == "web"]
RENDER_ENV = {e["key"]: e for e in WEB["envVars"]}
PROCFILE = dict(
    line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
)
_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")
# Set by the platforms themselves, or by the add-on / database the file declares.
PLATFORM = {"PORT", "DATABASE_URL", "DYNO", "RENDER", "WEB_CONCURRENCY"}


def routes_variables() -> dict[str, bool]:
    """``${VAR}`` in routes.yaml's values (comments do not count) → has a default."""
    found: dict[str, bool] = {}

    def walk(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node

    for text in walk(yaml.safe_load((ROOT / "routes.yaml").read_text())):
        for name, default in _VAR.findall(text):
            found[name] = found.get(name, True) and bool(default)
    return found


CODE = code_variables()
ROUTES = routes_variables()
REQUIRED = {"BRIDGE_ADMIN_TOKEN", "GITHUB_TOKEN", *(v for v, d in ROUTES.items() if not d)}


def test_the_code_reads_what_the_deploy_files_rely_on() -> None:
    assert {"BRIDGE_ADMIN_TOKEN", "BRIDGE_METRICS_TOKEN", "GITHUB_TOKEN", "DATABASE_URL"} <= CODE
    assert {"LOG_FORMAT", "PORT", "WEB_CONCURRENCY", "BRIDGE_RETENTION"} <= CODE


@pytest.mark.parametrize(
    ("name", "declared"), [("app.json", APP["env"]), ("render.yaml", RENDER_ENV)]
)
def test_every_variable_declared_is_one_bridge_reads(name: str, declared: dict[str, Any]) -> None:
    unknown = set(declared) - CODE - set(ROUTES)
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize(
    ("name", "declared"), [("app.json", APP["env"]), ("render.yaml", RENDER_ENV)]
)
def test_every_variable_routes_yaml_and_the_app_need_is_declared(
    name: str, declared: dict[str, Any]
) -> None:
    missing = (REQUIRED | set(ROUTES)) - set(declared) - PLATFORM
    assert not missing, f"{name} does not declare {sorted(missing)}"


def test_both_files_declare_the_same_variables() -> None:
    assert set(APP["env"]) == set(RENDER_ENV) - {"DATABASE_URL"}


def test_secrets_are_generated_or_asked_for_never_written_down() -> None:
    for key, spec in APP["env"].items():
        if key.endswith(("_TOKEN", "_SECRET")):
            assert "value" not in spec, key
            assert spec.get("generator") == "secret" or spec.get("required", True), key
        assert spec.get("description"), f"app.json: {key} has no description"
    for key, spec in RENDER_ENV.items():
        if key.endswith(("_TOKEN", "_SECRET")):
            assert spec.get("generateValue") is True or spec.get("sync") is False, key
            assert "value" not in spec, key
    for key in ("BRIDGE_ADMIN_TOKEN", "ASC_WEBHOOK_SECRET", "PGYER_WEBHOOK_TOKEN"):
        assert APP["env"][key]["generator"] == "secret"
        assert RENDER_ENV[key]["generateValue"] is True
    assert APP["env"]["GITHUB_TOKEN"]["required"] is True
    assert RENDER_ENV["GITHUB_TOKEN"]["sync"] is False


def test_required_variables_have_no_defaults_to_forget() -> None:
    for key in REQUIRED:
        assert APP["env"][key].get("required", True), key
        assert "value" not in APP["env"][key], key


def test_postgres_is_provisioned_and_wired() -> None:
    plans = [a["plan"] if isinstance(a, dict) else a for a in APP["addons"]]
    assert any(p.startswith("heroku-postgresql") for p in plans)
    [database] = RENDER["databases"]
    wired = RENDER_ENV["DATABASE_URL"]["fromDatabase"]
    assert (wired["name"], wired["property"]) == (database["name"], "connectionString")


def test_web_commands_agree() -> None:
    assert WEB["startCommand"] == PROCFILE["web"]
    assert PROCFILE["web"] == 'gunicorn -c python:bridge.gunicorn_conf "bridge:create_app()"'
    assert PROCFILE["release"] == "python -m bridge db upgrade"  # the checkout, not installed
    assert WEB["runtime"] == "python"
    assert "requirements.txt" in WEB["buildCommand"]
    assert [b["url"] for b in APP["buildpacks"]] == ["heroku/python"]
    assert APP["formation"]["web"]["quantity"] >= 1


def test_requirements_pin_every_dependency_with_hashes() -> None:
    """requirements.txt (what the platforms install) is pyproject.toml's lock: every runtime
    dependency pinned within its floor, every pin with hashes (pip's hash-checking mode)."""
    text = (ROOT / "requirements.txt").read_text()
    pins: dict[str, str] = {}
    for entry in re.split(r"\n(?=[a-z0-9])", text.split("\n\n", 1)[-1]):
        if not entry.strip() or entry.startswith("#"):
            continue
        head = entry.split()[0]
        name, _, version = head.partition("==")
        assert version and "--hash=sha256:" in entry, entry[:200]
        pins[canonicalize_name(name)] = version
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for line in declared:
        wanted = Requirement(line)
        pinned = pins.get(canonicalize_name(wanted.name))
        assert pinned is not None, f"{wanted.name} is not in requirements.txt: make lock"
        assert wanted.specifier.contains(pinned), f"{wanted.name}=={pinned} vs {wanted}"


def test_python_version_is_one_the_project_supports() -> None:
    pinned = (ROOT / ".python-version").read_text().strip()
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert re.fullmatch(r"3\.\d+", pinned)
    minimum = required.removeprefix(">=")
    assert tuple(map(int, pinned.split("."))) >= tuple(map(int, minimum.split(".")))


def test_app_json_fits_heroku_limits() -> None:
    assert 3 <= len(APP["name"]) <= 30
    assert len(APP["description"]) <= 140
    assert APP["success_url"].startswith("/")


@pytest.fixture
def deployed(environ: dict[str, str]) -> Iterator[Flask]:
    """The app with every variable the deploy files set, as the platforms would (optional
    variables without a default left empty, as a user skipping them leaves them)."""
    env = {**environ, "LOG_FORMAT": "json"}
    for name, spec in APP["env"].items():
        optional = spec.get("required") is False and "value" not in spec
        env[name] = "" if optional else spec.get("value", "value-0123456789")
    env.update({"BRIDGE_RETENTION": "30d", "IOS_DEFAULT_BRANCH": "main", "BRIDGE_PROXY_HOPS": "1"})
    app = create_app(environ=env)
    yield app
    close_app(app)


def test_health_check_path_and_success_url_answer(deployed: Flask) -> None:
    client = deployed.test_client()
    assert client.get(WEB["healthCheckPath"]).status_code == 200
    assert client.get(APP["success_url"]).status_code == 200  # the login form


def test_every_variable_is_documented() -> None:
    docs = (ROOT / "README.md").read_text() + (ROOT / "docs/deploy.md").read_text()
    undocumented = [k for k in APP["env"] if f"`{k}`" not in docs]
    assert not undocumented
