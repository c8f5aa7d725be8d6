"""The sample workflows' run scripts, run in bash as a runner would (env in, a Slack webhook
on 127.0.0.1): a Pgyer field with a newline and ``::add-mask::`` does not become a workflow
command, and the TestFlight step summary (public with the repository) names no tester."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None or shutil.which("curl") is None, reason="needs jq and curl"
)


def step(workflow: str, name: str) -> str:
    document: Any = yaml.safe_load((ROOT / "workflows-examples" / workflow).read_text())
    for job in document["jobs"].values():
        for item in job["steps"]:
            if item.get("name") == name:
                script: str = item["run"]
                return script
    raise AssertionError(f"{workflow}: no step {name!r}")


def run(script: str, env: Mapping[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    summary = tmp_path / "summary.md"
    summary.touch()
    full = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/ios",
        "GITHUB_RUN_ID": "1",
        **env,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script], env=full, capture_output=True, text=True, timeout=30
    )


def test_pgyer_fields_never_become_workflow_commands(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    hostile = "1.0\n::add-mask::ghp_visible\n::warning::forged"
    env = {
        "WECOM_WEBHOOK_URL": "",
        "SLACK_WEBHOOK_URL": httpserver.url_for("/slack"),
        "APP": "Demo\n::error::forged error",
        "PLATFORM": "android",
        "VERSION": hostile,
        "BUILD": "7\r\n::stop-commands::x",
        "NOTES": "fixes\n::set-output name=x::y",
        "INSTALL_URL": "https://www.pgyer.com/abc",
        "DELIVERY_ID": "d-1",
    }
    result = run(step("pgyer-new-build.yml", "Post to WeCom and Slack"), env, tmp_path)
    assert result.returncode == 0, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.lstrip().startswith("::")]
    assert commands == [], result.stdout
    [logged] = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert json.loads(logged)["version"] == hostile  # all there, on one line
    [(request, _)] = httpserver.log
    assert "forged" in request.get_json()["text"]  # the chat still gets the text, escaped


def test_testflight_summary_names_no_tester(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    details = {
        "email": "tester@example.com",
        "comment": "it crashed on login",
        "device_model": "iPhone15,2",
        "version": "1.2",
        "build_number": "7",
    }
    env = {
        "SLACK_WEBHOOK_URL": httpserver.url_for("/slack"),
        "ASC_APP_ID": "123",
        "APP_NAME": "Demo",
        "EVENT": "betaFeedbackScreenshotSubmissionCreated",
        "INSTANCE_ID": "sub-1",
        "TIMESTAMP": "2026-01-01T00:00:00Z",
        "DETAILS": json.dumps(details),
        "DELIVERY_ID": "d-2",
    }
    result = run(step("testflight-feedback.yml", "Post to Slack"), env, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "sub-1" in summary and "d-2" in summary
    for private in ("tester@example.com", "it crashed on login", "iPhone15,2"):
        assert private not in summary
    [(request, _)] = httpserver.log
    assert "tester@example.com" in request.get_json()["text"]  # Slack, the team's, has it


def test_the_event_summary_leaves_out_a_testers_address(tmp_path: Path) -> None:
    payload = {
        "event": "betaFeedbackScreenshotSubmissionCreated",
        "details": {"email": "tester@example.com", "comment": "hi"},
        "bridge": {"delivery_id": "d-3"},
    }
    env = {
        "EVENT_TYPE": "asc-testflight-feedback",
        "PAYLOAD": json.dumps(payload),
        "DELIVERY_ID": "d-3",
    }
    result = run(step("bridge-events.yml", "Summarize the event"), env, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "d-3" in summary and '"comment": "hi"' in summary
    assert "tester@example.com" not in summary
