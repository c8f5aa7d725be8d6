"""workflows-examples/asc-alerts.yml's "Post to Slack" step, run with bash as a runner would:
the version looked up with fastlane joins the details bridge sent, also when those hold only
the review times (enrichment off), as release-notes.yml already does."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

ROOT = Path(__file__).parent.parent


def post_step() -> str:
    workflow = yaml.safe_load((ROOT / "workflows-examples" / "asc-alerts.yml").read_text())
    [step] = [s for s in workflow["jobs"]["alert"]["steps"] if s.get("name") == "Post to Slack"]
    script: str = step["run"]
    return script


def run_post(tmp_path: Path, slack: HTTPServer, details: Any, looked_up: Any | None) -> str:
    posted: list[dict[str, Any]] = []

    def receive(request: Request) -> Response:
        posted.append(json.loads(request.get_data()))
        return Response("ok")

    slack.expect_oneshot_request("/hook", method="POST").respond_with_handler(receive)
    if looked_up is not None:
        (tmp_path / "details.json").write_text(json.dumps(looked_up))
    env = {
        "PATH": os.environ["PATH"],
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "team/ios",
        "GITHUB_RUN_ID": "1",
        "SLACK_WEBHOOK_URL": slack.url_for("/hook"),
        "ASC_APP_ID": "6443",
        "APP_NAME": "Shop",
        "SLACK_MENTION": "",
        "EVENT": "appStoreVersionAppVersionStateUpdated",
        "NEW_STATE": "REJECTED",
        "OLD_STATE": "IN_REVIEW",
        "INSTANCE_ID": "v-1",
        "TIMESTAMP": "2025-12-19T10:00:00Z",
        "DETAILS": json.dumps(details),
        "DELIVERY_ID": "d-1",
    }
    subprocess.run(["bash", "-c", post_step()], env=env, check=True, capture_output=True)
    [message] = posted
    text: str = message["text"]
    return text


@pytest.mark.parametrize(
    "sent",
    [None, {"review": {"wait_seconds": 3600, "review_seconds": 7200}}],
    ids=["enrichment-off-no-review", "enrichment-off-with-review"],
)
def test_the_looked_up_version_is_in_the_alert(
    tmp_path: Path, httpserver: HTTPServer, sent: Any
) -> None:
    text = run_post(tmp_path, httpserver, sent, {"version": "2.4.0", "build_number": "812"})
    assert text.startswith(":no_entry: *Shop 2.4.0 (812): rejected by App Review*")


def test_bridge_details_are_used_when_nothing_was_looked_up(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    text = run_post(tmp_path, httpserver, {"version": "2.5.0", "state": "REJECTED"}, None)
    assert text.startswith(":no_entry: *Shop 2.5.0: rejected by App Review*")
