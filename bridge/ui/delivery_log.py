"""The delivery log: recent events with their deliveries, one event in detail, and the replay
actions. Server-rendered (Jinja2, autoescaped), behind :mod:`bridge.ui.auth`."""

from __future__ import annotations

import time

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from bridge.appstoreconnect.details import summary
from bridge.appstoreconnect.key_health import refused_key
from bridge.appstoreconnect.review_times import stored_review
from bridge.delivery.credential_watch import credential_warnings
from bridge.delivery.preview import would_send
from bridge.intake.silence import quiet_sources
from bridge.providers import PROVIDERS
from bridge.services import current_services
from bridge.store import DeliveryState, EventFilter
from bridge.ui.auth import guard, secure_headers, wants_json
from bridge.ui.redirects import safe_next

bp = Blueprint("log", __name__)
bp.before_request(guard)
bp.after_request(secure_headers)

PAGE_SIZE = 50
STATES: tuple[DeliveryState, ...] = ("pending", "delivered", "failed", "dry_run")
MAX_SEARCH = 200
REFRESH_SECONDS = 10


@bp.get("/")
def home() -> BaseResponse:
    return redirect(url_for("log.deliveries"))


@bp.get("/deliveries")
def deliveries() -> str:
    services = current_services()
    filters = read_filters(request.args)
    before = _positive_int(request.args.get("before"))
    page = services.store.list_events(filters, limit=PAGE_SIZE, before=before)
    stats = services.store.outbox_stats(states=("pending", "failed"))
    types = sorted({t for p in PROVIDERS.values() for t in p.EVENT_TYPES})
    now = time.time()
    quiet = quiet_sources(services.routes, services.store, now=now, started_at=services.started_at)
    return render_template(
        "deliveries.html",
        page=page,
        filters=filters,
        filtered=filters != EventFilter(),
        before=before,
        stats=stats,
        states=STATES,
        sources=sorted(services.routes.sources),
        event_types=types,
        refresh=REFRESH_SECONDS if request.args.get("refresh") == "on" else None,
        args={k: v for k, v in request.args.items() if k in LINK_KEYS and k != "before"},
        now=now,
        dry_run=services.settings.dry_run,
        refused_key=refused_key(services.store),
        silent=[q.describe() for q in quiet if q.silent],
        credentials=credential_warnings(services.store.credential_states(), now=now),
    )


@bp.get("/events/<source>/<path:event_id>")
def event(source: str, event_id: str) -> str | tuple[str, int]:
    services = current_services()
    store = services.store
    detail = store.event_detail(source, event_id)
    if detail is None:
        message = f"No event {event_id!r} from source {source!r}: it may have been pruned."
        return render_template("message.html", title="Not found", message=message), 404
    log_url = services.settings.log_url(source, event_id)
    previews = {
        d.id: would_send(services.routes, services.contexts, detail, d, log_url=log_url)
        for d in detail.record.deliveries
    }
    stored = detail.details or store.details(source, event_id)  # a preview may have fetched
    review = stored_review(
        store, event_type=detail.event.type, instance=detail.event.instance, event_id=event_id
    )
    return render_template(
        "event.html",
        detail=detail,
        details=(
            summary(stored.data, event_state=detail.event.new_state)
            if stored is not None and stored.data is not None
            else None
        ),
        review=review,
        would_send=previews,
        now=time.time(),
        here=request.path,
    )


@bp.get("/raw/events/<source>/<path:event_id>")
def raw_body(source: str, event_id: str) -> Response | tuple[str, int]:
    """The body exactly as received, as a download: never rendered by the browser (the page
    shows a bounded, indented copy)."""
    detail = current_services().store.event_detail(source, event_id)
    if detail is None:
        message = f"No event {event_id!r} from source {source!r}: it may have been pruned."
        return render_template("message.html", title="Not found", message=message), 404
    response = Response(bytes(detail.body), 200, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = 'attachment; filename="event-body.json"'
    return response


@bp.post("/deliveries/<delivery_id>/replay")
def replay(delivery_id: str) -> BaseResponse | tuple[Response, int]:
    services = current_services()
    count = services.store.requeue_delivery(delivery_id, now=time.time())
    if count:
        services.dispatcher.wake()
    if wants_json():
        return jsonify(queued=count), 200 if count else 409
    if count:
        flash(f"Delivery {delivery_id} queued again.", "ok")
    else:
        flash(
            f"Delivery {delivery_id} was not queued: it does not exist, or an attempt is in "
            "progress right now (retry in a minute).",
            "error",
        )
    return redirect(safe_next(request.form.get("next")))


@bp.post("/deliveries/replay-failed")
def replay_failed() -> BaseResponse | tuple[Response, int]:
    services = current_services()
    count = services.store.requeue_failed(now=time.time())
    if count:
        services.dispatcher.wake()
    if wants_json():
        return jsonify(queued=count), 200
    flash(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again.", "ok")
    return redirect(safe_next(request.form.get("next")))


def read_filters(args: MultiDict[str, str]) -> EventFilter:
    """The query string's filters; unknown values are dropped, not errors (links stay
    usable when routes.yaml changes)."""
    state_arg = args.get("state")
    search = (args.get("q") or "").strip()[:MAX_SEARCH]
    return EventFilter(
        source=args.get("source") or None,
        type=(args.get("type") or "").strip() or None,
        state=state_arg if state_arg in STATES else None,
        search=search or None,
    )


def _positive_int(text: str | None) -> int | None:
    """``text`` as a cursor, or None: ASCII digits only (``"²".isdigit()`` is true, and
    ``int("²")`` raises), at most 19 of them."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    return int(text) if 0 < int(text) < 2**63 else None


# The query keys the log's own links carry on (no other key reaches url_for: ``_external``,
# ``_anchor``, ``_method`` or ``_scheme`` would change the links themselves).
LINK_KEYS = ("source", "type", "state", "q", "refresh", "before")
