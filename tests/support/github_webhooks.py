"""GitHub's webhook sender, as the tests play it: the headers of a delivery and the body of a
``workflow_run`` report."""

from __future__ import annotations

import json
import uuid

from bridge.providers.signatures import github_signature

GITHUB_SECRET = "test-github-webhook-secret"


def github_headers(body: bytes, event: str, *, secret: str = GITHUB_SECRET) -> dict[str, str]:
    """The headers GitHub's webhook sender puts on a delivery of ``body``."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": github_signature(body, secret),
    }


def workflow_run(
    run_id: int, status: str, conclusion: str | None = None, *, title: str = "Release",
    repository: str = "acme/ios", attempt: int = 1,
) -> bytes:  # fmt: skip
    """A ``workflow_run`` webhook body as GitHub sends it (the fields bridge reads, and more)."""
    action = {"completed": "completed", "in_progress": "in_progress"}.get(status, "requested")
    return json.dumps({
        "action": action,
        "workflow_run": {
            "id": run_id, "name": "Release", "display_title": title, "run_attempt": attempt,
            "status": status, "conclusion": conclusion, "event": "workflow_dispatch",
            "html_url": f"https://github.com/{repository}/actions/runs/{run_id}",
            "updated_at": "2026-05-02T10:14:03Z",
        },
        "repository": {"full_name": repository},
    }).encode()  # fmt: skip
