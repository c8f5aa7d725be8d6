"""The "Test a payload" page: paste a webhook body, pick a source, see which routes match, why
the others do not, and exactly what each would send. Nothing is sent or stored (the logic of
``bridge simulate``)."""

from __future__ import annotations

import json
import time

from flask import Blueprint, render_template, request

from bridge.delivery.preview import Simulation, simulate
from bridge.errors import RequestError
from bridge.services import current_services
from bridge.ui.auth import guard, secure_headers

bp = Blueprint("tester", __name__)
bp.before_request(guard)
bp.after_request(secure_headers)

# A starting point per provider, offered when the text area is empty.
EXAMPLES = {
    "appstoreconnect": {
        "data": {
            "type": "buildUploadStateUpdated",
            "id": "00000000-0000-4000-8000-000000000001",
            "version": 1,
            "attributes": {"oldState": "PROCESSING", "newState": "COMPLETE"},
            "relationships": {
                "instance": {"data": {"type": "buildUploads", "id": "example-build-upload"}}
            },
        }
    },
    "pgyer": {
        "type": "updateVersion",
        "title": "Example",
        "os_version": "2.4",
        "build_version": "139",
        "device_type": "Android",
        "timestamp": 1444361118,
    },
}


@bp.route("/test-payload", methods=["GET", "POST"])
def test_payload() -> str | tuple[str, int]:
    sources = current_services().routes.sources
    source = request.values.get("source") or next(iter(sources), "")
    body = request.form.get("body", "")
    result: Simulation | None = None
    error: str | None = None
    if request.method == "POST":
        try:
            services = current_services()
            result = simulate(
                services.routes, source, body.encode(), contexts=services.contexts, now=time.time()
            )
        except RequestError as exc:
            error = exc.message
    elif source in sources:
        body = json.dumps(EXAMPLES.get(sources[source].provider, {}), indent=2)
    page = render_template(
        "test_payload.html",
        sources=sources,
        source=source,
        body=body,
        result=result,
        error=error,
    )
    return (page, 422) if error else page
