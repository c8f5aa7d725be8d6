"""GitHub webhooks (a repository's or a GitHub App's), above all ``workflow_run``: how the runs
bridge started end.

https://docs.github.com/en/webhooks/webhook-events-and-payloads
The event name is the ``X-GitHub-Event`` header and ``X-GitHub-Delivery`` a GUID per delivery
(kept when GitHub redelivers), so both are read from the headers; a body alone (``bridge
simulate``, the payload tester) gets its type from its shape and its id from its content.
Signature: ``X-Hub-Signature-256`` (:func:`bridge.providers.signatures.verify_github`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.errors import PayloadError
from bridge.events import Event, Instance
from bridge.providers.jsonbody import parse_object, text_field
from bridge.providers.signatures import GITHUB_SIGNATURE_HEADER, github_signature, verify_github

NAME = "github"
CREDENTIAL_KEYS: tuple[str, str] = ("secret", "secrets")
EVENT_HEADER = "x-github-event"
DELIVERY_HEADER = "x-github-delivery"
WORKFLOW_RUN = "workflow_run"

# The workflow_run statuses (https://docs.github.com/en/rest/actions/workflow-runs); the
# webhook's actions are requested, in_progress and completed.
_RUN_STATUSES = frozenset({"requested", "queued", "pending", "waiting", "in_progress", "completed"})
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "ping", WORKFLOW_RUN, "workflow_job", "check_run", "check_suite", "deployment",
        "deployment_status", "push", "release", "pull_request", "repository_dispatch",
        "workflow_dispatch",
    }
)  # fmt: skip
STATES_BY_EVENT_TYPE: Mapping[str, frozenset[str]] = {
    t: (_RUN_STATUSES if t == WORKFLOW_RUN else frozenset()) for t in EVENT_TYPES
}
STATES: frozenset[str] = _RUN_STATUSES
OLD_STATE_OPTIONAL: frozenset[str] = frozenset({WORKFLOW_RUN})  # a run has a status, no old one

# The sample workflows put this in their run-name (workflows-examples/README.md), so that a
# repository_dispatch, for which GitHub returns no run id, is recognized in workflow_run.
DELIVERY_MARK = re.compile(
    r"\[bridge ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]"
)

EXAMPLE: Mapping[str, Any] = {
    "action": "completed",
    "workflow_run": {
        "id": 30433642,
        "name": "Submit for review",
        "display_title": "Submit 2.4 (139) [bridge 5f0c2b9e-3a51-4c1e-9d7a-0b6c2f1e8a42]",
        "run_attempt": 1,
        "status": "completed",
        "conclusion": "failure",
        "event": "repository_dispatch",
        "html_url": "https://github.com/octo-org/ios-app/actions/runs/30433642",
        "updated_at": "2026-05-02T10:14:03Z",
    },
    "repository": {"full_name": "octo-org/ios-app"},
}


def authenticate(
    body: bytes,
    *,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    secrets: Sequence[str],
) -> None:
    """Raises SignatureError unless ``X-Hub-Signature-256`` signs ``body`` with a secret."""
    verify_github(body, header=headers.get(GITHUB_SIGNATURE_HEADER.lower()), secrets=secrets)


def credentials(body: bytes, secret: str) -> tuple[dict[str, str], dict[str, str]]:
    """The headers GitHub sends with ``body`` (signature and, when the body tells, the event
    name) for a webhook set up with ``secret``."""
    headers = {GITHUB_SIGNATURE_HEADER: github_signature(body, secret)}
    with contextlib.suppress(PayloadError):  # bridge answers 400 with the reason
        headers["X-GitHub-Event"] = _event_type(parse_object(body), None)
    return headers, {}


def parse(body: bytes, *, source: str, headers: Mapping[str, str] | None = None) -> Event:
    """Normalize a GitHub webhook body; ``headers`` (lower-case names) as received.

    A ``workflow_run`` event is about the run (instance ``workflow_run`` / run id) and its
    ``new_state`` is the run's status. Raises PayloadError when the body is not a JSON object
    (GitHub's form-encoded content type included) or its event name cannot be told.
    """
    headers = headers or {}
    try:
        payload = parse_object(body)
    except PayloadError as exc:
        raise PayloadError(
            f"{exc} (set the GitHub webhook's content type to application/json)"
        ) from None
    event_type = _event_type(payload, headers.get(EVENT_HEADER))
    delivery = headers.get(DELIVERY_HEADER, "").strip()
    event = Event(
        source=source,
        provider=NAME,
        type=event_type,
        id=delivery[:100] or _content_id(payload),
        payload=payload,
    )
    run = payload.get(WORKFLOW_RUN)
    if event_type != WORKFLOW_RUN or not isinstance(run, dict):
        return event
    run_id = run.get("id")
    if not isinstance(run_id, int) or isinstance(run_id, bool):
        raise PayloadError("workflow_run event without an integer workflow_run.id")
    return Event(
        source=event.source, provider=NAME, type=event.type, id=event.id,
        new_state=text_field(run, "status"), instance=Instance(WORKFLOW_RUN, str(run_id)),
        timestamp=text_field(run, "updated_at"), payload=payload,
    )  # fmt: skip


def _event_type(payload: Mapping[str, Any], header: str | None) -> str:
    if header and header.strip():
        return header.strip()[:100]
    if isinstance(payload.get(WORKFLOW_RUN), dict):
        return WORKFLOW_RUN
    if "zen" in payload and "hook_id" in payload:
        return "ping"
    raise PayloadError("missing X-GitHub-Event header (the GitHub event name)")


def _content_id(payload: Mapping[str, object]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
