"""What bridge sends to GitHub for one delivery: exactly the HTTP request, nothing implied.

Stored with every attempt, shown by ``bridge simulate`` and in dry-run mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

Kind = Literal["repository_dispatch", "workflow_dispatch"]


@dataclass(frozen=True, slots=True)
class DispatchRequest:
    kind: Kind
    repository: str  # "owner/name"
    body: dict[str, Any]  # JSON body, as sent
    workflow: str | None = None  # workflow file name or id (workflow_dispatch only)

    @property
    def path(self) -> str:
        """API path relative to ``GITHUB_API_URL``.

        https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event
        https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event
        """
        owner, _, name = self.repository.partition("/")
        base = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        if self.kind == "repository_dispatch" or self.workflow is None:
            return f"{base}/dispatches"
        return f"{base}/actions/workflows/{quote(self.workflow, safe='')}/dispatches"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "method": "POST", "path": self.path, "body": self.body}
