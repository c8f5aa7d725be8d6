"""The "Test a payload" page: paste a webhook body, pick a source, see which routes match, why
the others do not, and exactly what each would send. Nothing is sent or stored (the logic of
``bridge simulate``)."""

from __future__ import annotations

import json
import time

from flask import Blueprint, render_template, request

from bridge.delivery.preview import Simulation, simulate
from bridge.delivery.template_check import webhook_samples
from bridge.errors import RequestError
from bridge.providers import PROVIDERS
from bridge.services import current_services
from bridge.ui.auth import guard, secure_headers

bp = Blueprint("tester", __name__)
bp.before_request(guard)
bp.after_request(secure_headers)


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
        samples = dict(webhook_samples(sources[source].provider))
        chosen = samples.get(request.args.get("sample", ""))  # only a listed name is read
        example = PROVIDERS[sources[source].provider].EXAMPLE
        body = chosen.decode() if chosen is not None else json.dumps(example, indent=2)
    provider = sources[source].provider if source in sources else None
    page = render_template(
        "test_payload.html",
        sources=sources,
        source=source,
        samples=[name for name, _ in webhook_samples(provider)] if provider else [],
        sample=request.args.get("sample", ""),
        body=body,
        result=result,
        error=error,
    )
    return (page, 422) if error else page
