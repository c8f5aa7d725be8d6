"""``bridge send``, ``bridge events``, ``bridge replay``: test a deployment, look, and retry."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from datetime import UTC, datetime
from typing import BinaryIO
from urllib.parse import urlencode, urlsplit

import click

from bridge.appstoreconnect.key_health import refused_key
from bridge.appstoreconnect.review_times import ReviewTimes, stored_review
from bridge.cli import common as commands
from bridge.errors import PayloadError
from bridge.events import Instance
from bridge.logs import escape_controls
from bridge.providers import PROVIDERS
from bridge.store import EventFacts, EventFilter, EventLog, EventRecord
from bridge.version import __version__


@click.command()
@click.argument("source")
@click.argument("file", type=click.File("rb"))
@click.option(
    "--url",
    required=True,
    help="The deployment's base URL (…/webhooks/SOURCE is appended) or the full webhook URL.",
)
@click.option(
    "--secret",
    envvar="BRIDGE_SEND_SECRET",
    help="Sign with this secret/token instead of the source's first one in routes.yaml "
    "(or set BRIDGE_SEND_SECRET).",
)
@click.option("--timeout", type=float, default=30.0, show_default=True)
@click.option(
    "--any-type",
    "any_type",
    is_flag=True,
    help="Send a body of an event type bridge does not know.",
)
def send(  # noqa: PLR0917  (click passes every option by position)
    source: str, file: BinaryIO, url: str, secret: str | None, timeout: float, any_type: bool
) -> None:
    """POST FILE (a webhook body) to a running bridge as SOURCE's provider would: signed with
    the App Store Connect secret, or with Pgyer's ?token=. Exit 1 unless answered 2xx."""
    current = commands.settings()
    # With --secret, routes.yaml's own secrets need not be set here.
    routes = commands.routes_without_credentials(current)[0] if secret else commands.routes(current)
    configured = routes.sources.get(source)
    if configured is None:
        raise click.ClickException(f"unknown source {source!r} in {routes.path}")
    body = file.read()
    _refuse_what_no_provider_sends(configured.provider, body, source, any_type)
    headers, query = PROVIDERS[configured.provider].credentials(
        body, secret or configured.secrets[0]
    )
    target = url.rstrip("/")
    if "/webhooks/" not in urlsplit(target).path:
        target = f"{target}/webhooks/{source}"
    if urlsplit(target).scheme not in ("http", "https"):
        raise click.ClickException("--url must start with http:// or https://")
    full = f"{target}?{urlencode(query)}" if query else target
    request = urllib.request.Request(full, data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", f"bridge-send/{__version__}")
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        why = getattr(reason, "strerror", None) or str(reason)
        raise click.ClickException(
            f"cannot reach {target}: {why} (is bridge running there? `make run` serves "
            "http://127.0.0.1:8000)"
        ) from None
    click.echo(f"POST {target} → {status}")  # target: never the query string with the token
    click.echo(answer.decode("utf-8", "replace"))
    if not 200 <= status < 300:
        raise SystemExit(1)


def _refuse_what_no_provider_sends(provider: str, body: bytes, source: str, any_type: bool) -> None:
    """A body its provider would not post (an App Store Connect API answer such as
    tests/samples/appstoreconnect/api-*.json parses as an event of type ``buildUploads``)
    would be stored as an event nobody sends. Raises ClickException."""
    try:
        event = PROVIDERS[provider].parse(body, source=source)
    except PayloadError as exc:
        raise click.ClickException(f"not a {provider} webhook: {exc.message}") from None
    if any_type or event.type in PROVIDERS[provider].EVENT_TYPES:
        return
    raise click.ClickException(
        f"{event.type!r} is not an event type {provider} sends: is this an API answer rather "
        "than a webhook? (--any-type sends it anyway)"
    )


@click.command()
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--source", default=None, help="Only events of this source.")
@click.option("--id", "event_id", default=None, help="Only the event with this id (or part of it).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events(limit: int, source: str | None, event_id: str | None, as_json: bool) -> None:
    """Recent events, newest first, with the state of each delivery."""
    with commands.services(with_routes=False) as services:
        store = services.store
        if event_id:  # the whole id, else part of it (or a delivery id), as the log's search
            records = store.events_by_id(event_id, source=source) or list(
                store.list_events(EventFilter(source=source, search=event_id), limit=limit).events
            )
        else:
            records = store.recent_events(limit=limit, source=source)
        reviews = [_review(store, record) for record in records]
        refused = refused_key(store)
    if refused is not None:  # deliveries still say delivered: they go without details
        click.echo(f"warning: {refused}", err=True)
    for record, review in zip(records, reviews, strict=True):
        if as_json:
            fields = {**asdict(record), "review": review.as_dict() if review else None}
            click.echo(json.dumps(fields, ensure_ascii=False))
        else:
            click.echo(_text(record, review))
    if not records and source:
        _unknown_source(source)
    if not records and not as_json:
        click.echo("no events")


def _unknown_source(source: str) -> None:
    """Raise ClickException when routes.yaml has no source ``source`` (a typo reads better
    than "no events"); nothing when it has one or cannot be read here."""
    try:
        routes, _ = commands.routes_without_credentials(commands.settings())
    except click.ClickException:
        return
    if source not in routes.sources:
        known = ", ".join(routes.sources) or "none"
        raise click.ClickException(f"unknown source {source!r} (sources in {routes.path}: {known})")


def _review(store: EventFacts, record: EventRecord) -> ReviewTimes | None:
    instance = (
        Instance(record.instance_type, record.instance_id)
        if record.instance_type and record.instance_id
        else None
    )
    return stored_review(store, event_type=record.type, instance=instance, event_id=record.event_id)


def _text(record: EventRecord, review: ReviewTimes | None) -> str:
    when = datetime.fromtimestamp(record.received_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    change = f" {record.old_state or '∅'}→{record.new_state}" if record.new_state else ""
    lines = [f"{when}  {record.source}  {record.type}{change}  {record.event_id}"]
    if review is not None:
        lines.append(f"    review: {review.describe()}")
    for d in record.deliveries:
        status = f" HTTP {d.last_status}" if d.last_status else ""
        detail = f" — {d.last_error}" if d.last_error else ""
        link = f" {d.run_url}" if d.run_url else ""
        if d.run_status:
            link += f" run={d.run_conclusion or d.run_status}"
        lines.append(
            f"    {d.state:<9} {d.route}  attempts={d.attempts}{status}{link}{detail}  [{d.id}]"
        )
    if not record.deliveries:
        lines.append("    (no route matched)")
    # Types, ids, states and GitHub's messages come from outside: escape anything a terminal
    # would act on (``\x1b[2J``, a newline that fakes a line) before it reaches one.
    return "\n".join(escape_controls(line) for line in lines)


@click.command()
@click.argument("event_id", required=False)
@click.option("--failed", is_flag=True, help="Queue every failed delivery again.")
@click.option("--source", default=None, help="The event's source, if its id is ambiguous.")
def replay(event_id: str | None, failed: bool, source: str | None) -> None:
    """Queue an event's deliveries (or every failed delivery) to be sent again. A running
    bridge picks them up within its poll interval."""
    if bool(event_id) == failed:
        raise click.UsageError("give either EVENT_ID or --failed")
    with commands.services(with_routes=False) as services:
        count = _requeue(services.store, event_id, source)
    click.echo(f"queued {count} deliver{'y' if count == 1 else 'ies'} again")


def _requeue(store: EventLog, event_id: str | None, source: str | None) -> int:
    now = time.time()
    if event_id is None:
        return store.requeue_failed(now=now)
    matches = store.events_by_id(event_id, source=source)
    if not matches:
        raise click.ClickException(f"no event with id {event_id!r}")
    if len({m.source for m in matches}) > 1:
        sources = ", ".join(sorted({m.source for m in matches}))
        raise click.ClickException(
            f"event id {event_id!r} is in several sources ({sources}); pick one with --source"
        )
    return store.requeue_event(event_id, source=source, now=now)
