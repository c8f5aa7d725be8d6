"""``bridge asc …``: manage App Store Connect webhooks, read their delivery log, and recover
events missed while bridge was down (``bridge asc reconcile``).

The API is docs/protocols.md, "Delivery semantics", "Webhook management API" and
"App Store Connect API token":
https://developer.apple.com/documentation/appstoreconnectapi/webhooks. The key comes from
ASC_KEY_ID, ASC_ISSUER_ID, ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH).
Every App Store Connect error is one line and exit status 1; ``--json`` prints the resources'
useful fields with stable keys (one object per line for lists).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import click

from bridge.appstoreconnect import webhooks as asc_webhooks
from bridge.appstoreconnect.client import AscClient, AscError, AscTransientError
from bridge.appstoreconnect.reconcile import reconcile as run_reconcile
from bridge.appstoreconnect.webhooks import Delivery, EventTypeError, Webhook
from bridge.cli import common as commands
from bridge.config import parse_duration
from bridge.errors import ConfigError, StoreUnavailableError

_RELATIVE = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:s|m|h|d)\s*$")
_SHOWN_ONCE = (
    "shown only now: App Store Connect never returns it. Put it where the source's secret comes "
    "from (e.g. ASC_WEBHOOK_SECRET) before events arrive"
)


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """``2025-12-01`` (UTC), ``2025-12-01T08:00:00Z`` (any offset; none means UTC), or a time
    ago: ``30m``, ``24h``, ``7d``, as epoch seconds."""
    if value is None:
        return None
    text = value.strip()
    if _RELATIVE.match(text):
        return time.time() - parse_duration(text, name=param.name or "")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date: use 2025-12-01, 2025-12-01T08:00:00Z, 24h or 7d"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


@contextmanager
def _api() -> Iterator[None]:
    """App Store Connect errors (and a missing key) as one line, exit status 1."""
    try:
        yield
    except AscTransientError as exc:
        wait = f"; App Store Connect asks to wait {exc.retry_after:g} s" if exc.retry_after else ""
        raise click.ClickException(f"{exc.message} (try again later{wait})") from None
    except AscError as exc:
        raise click.ClickException(exc.message) from None
    except (ConfigError, StoreUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _client() -> Iterator[AscClient]:
    """The API client for one command, closed when it ends (the key alone: no routes.yaml)."""
    with commands.services(with_routes=False) as services, _api():
        yield services.require_asc()


def _events(values: Sequence[str]) -> tuple[str, ...]:
    try:
        return asc_webhooks.event_types(values)
    except EventTypeError as exc:
        raise click.BadParameter(str(exc), param_hint="'--events'") from None


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _utc(text: str | None) -> str:
    """Apple's ``2025-12-15T19:12:55-08:00`` as ``2025-12-16 03:12:55Z``."""
    if not text:
        return "-"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return text


def _event_names(types: Sequence[str]) -> str:
    if set(types) == set(asc_webhooks.EVENT_TYPES):
        return f"all ({len(types)})"
    return ", ".join(asc_webhooks.camel_name(t) for t in types) or "-"


def _show(hook: Webhook, secret: str | None = None) -> None:
    rows = [
        ("id", hook.id),
        ("app", hook.app_id or "-"),
        ("name", hook.name),
        ("url", hook.url),
        ("enabled", "yes" if hook.enabled else "no"),
        ("events", ", ".join(asc_webhooks.camel_name(t) for t in hook.event_types)),
    ]
    for key, value in rows:
        click.echo(f"{key + ':':<9} {value}")
    if secret is not None:
        click.echo(f"secret:   {secret}")
        click.echo(f"          ({_SHOWN_ONCE})")


@click.group()
def asc() -> None:
    """App Store Connect webhooks: manage them, read their deliveries, recover missed events.

    Needs the API key: ASC_KEY_ID, ASC_ISSUER_ID and ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH).
    """


@asc.group()
def webhooks() -> None:
    """List, create, update and delete an app's webhooks (at most 10 per app)."""


@webhooks.command("list")
@click.option("--app", "app_id", required=True, help="The app's App Store Connect id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_(app_id: str, as_json: bool) -> None:
    """The app's webhooks."""
    with _client() as client:
        hooks = asc_webhooks.list_webhooks(client, app_id)
    if as_json:
        for hook in hooks:
            _json(hook.as_dict())
        return
    if not hooks:
        click.echo(f"no webhooks for app {app_id}")
        return
    rows = [
        (h.id, h.name, "yes" if h.enabled else "no", h.url, _event_names(h.event_types))
        for h in hooks
    ]
    click.echo(_table(("ID", "NAME", "ENABLED", "URL", "EVENTS"), rows))


@webhooks.command()
@click.option("--app", "app_id", required=True, help="The app's App Store Connect id.")
@click.option("--url", required=True, help="Where to post, e.g. https://HOST/webhooks/SOURCE.")
@click.option(
    "--events",
    "events",
    multiple=True,
    required=True,
    help="Event types (BUILD_UPLOAD_STATE_UPDATED or buildUploadStateUpdated), repeated or "
    "comma-separated, or `all`.",
)
@click.option("--name", default="bridge", show_default=True)
@click.option("--secret", default=None, help="The signing secret (default: generate one).")
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create(
    *,
    app_id: str,
    url: str,
    events: tuple[str, ...],
    name: str,
    secret: str | None,
    disabled: bool,
    as_json: bool,
) -> None:
    """Create a webhook. Without --secret one is generated and printed once."""
    types = _events(events)
    if secret == "":
        raise click.BadParameter("must not be empty", param_hint="'--secret'")
    generated = secrets.token_urlsafe(32) if secret is None else None
    with _client() as client:
        hook = asc_webhooks.create_webhook(
            client,
            app_id=app_id,
            url=url,
            event_types=types,
            secret=secret if secret is not None else str(generated),
            name=name,
            enabled=not disabled,
        )
    if as_json:
        _json({**hook.as_dict(), "secret": generated})
        return
    click.echo(f"created webhook {hook.id}")
    _show(hook, generated)
    click.echo(
        f"Add `webhook_id: {hook.id}` to the source in routes.yaml for `bridge asc reconcile`."
    )


@webhooks.command()
@click.argument("webhook_id")
@click.option("--url", default=None)
@click.option("--events", "events", multiple=True, help="Replace the event types (as in create).")
@click.option("--name", default=None)
@click.option("--secret", default=None, help="Set this signing secret.")
@click.option("--new-secret", is_flag=True, help="Generate a new secret and print it once.")
@click.option("--enable/--disable", "enabled", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def update(
    *,
    webhook_id: str,
    url: str | None,
    events: tuple[str, ...],
    name: str | None,
    secret: str | None,
    new_secret: bool,
    enabled: bool | None,
    as_json: bool,
) -> None:
    """Change a webhook's url, events, name, secret or state."""
    if secret is not None and new_secret:
        raise click.UsageError("give --secret or --new-secret, not both")
    if secret == "":
        raise click.BadParameter("must not be empty", param_hint="'--secret'")
    types = _events(events) if events else None
    generated = secrets.token_urlsafe(32) if new_secret else None
    if (url, types, name, secret, generated, enabled) == (None,) * 6:
        raise click.UsageError(
            "nothing to change: give --url, --events, --name, --secret, --new-secret, --enable "
            "or --disable"
        )
    with _client() as client:
        hook = asc_webhooks.update_webhook(
            client,
            webhook_id,
            url=url,
            event_types=types,
            name=name,
            secret=secret or generated,
            enabled=enabled,
        )
    if as_json:
        _json({**hook.as_dict(), "secret": generated})
        return
    click.echo(f"updated webhook {hook.id}")
    _show(hook, generated)


@webhooks.command()
@click.argument("webhook_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(webhook_id: str, yes: bool) -> None:
    """Delete a webhook (and its delivery log)."""
    with _client() as client:
        if not yes:
            hook = asc_webhooks.get_webhook(client, webhook_id)
            click.confirm(f"Delete webhook {hook.id} ({hook.name} → {hook.url})?", abort=True)
        asc_webhooks.delete_webhook(client, webhook_id)
    click.echo(f"deleted webhook {webhook_id}")


@asc.command()
@click.argument("webhook_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ping(webhook_id: str, as_json: bool) -> None:
    """Ask App Store Connect to send a test delivery (webhookPingCreated) to WEBHOOK_ID."""
    with _client() as client:
        ping_id = asc_webhooks.ping(client, webhook_id)
    if as_json:
        _json({"id": ping_id, "webhook_id": webhook_id})
        return
    click.echo(f"ping {ping_id} sent to webhook {webhook_id}")
    click.echo(f"its delivery shows in `bridge asc deliveries {webhook_id}`")


@asc.command()
@click.argument("webhook_id")
@click.option("--failed", is_flag=True, help="Only failed deliveries.")
@click.option("--since", metavar="DATE", callback=_when, help="Created at or after this date.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def deliveries(
    webhook_id: str, failed: bool, since: float | None, limit: int, as_json: bool
) -> None:
    """WEBHOOK_ID's deliveries, newest first, with what each carried."""
    states: tuple[asc_webhooks.DeliveryState, ...] = ("FAILED",) if failed else ()
    with _client() as client:
        found = list(
            asc_webhooks.deliveries(client, webhook_id, states=states, since=since, limit=limit)
        )
    if as_json:
        for delivery in found:
            _json(delivery.as_dict())
        return
    if not found:
        click.echo("no deliveries")
        return
    headers = ("CREATED", "STATE", "HTTP", "EVENT", "EVENT ID", "DELIVERY", "ERROR")
    click.echo(_table(headers, [_delivery_row(d) for d in found]))


def _delivery_row(d: Delivery) -> tuple[str, ...]:
    event = d.event
    if event is not None and event.ping:
        kind = "ping"
    elif event is not None and event.event_type:
        kind = asc_webhooks.camel_name(event.event_type)
    else:
        kind = "-"
    state = d.state + (" (redelivery)" if d.redelivery else "")
    http = str(d.http_status) if d.http_status is not None else "-"
    return (_utc(d.created), state, http, kind, d.event_id or "-", d.id, d.error or "")


@asc.command()
@click.argument("delivery_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def redeliver(delivery_id: str, as_json: bool) -> None:
    """Ask App Store Connect to send DELIVERY_ID's event again."""
    with _client() as client:
        new = asc_webhooks.redeliver(client, delivery_id)
    if as_json:
        _json(new.as_dict())
        return
    event = f" of event {new.event_id}" if new.event_id else ""
    click.echo(f"redelivery requested: delivery {new.id} ({new.state}){event}")


@asc.command("reconcile")
@click.option(
    "--source", "sources", multiple=True, help="Only this source (repeatable; default: all)."
)
@click.option(
    "--since",
    metavar="DATE",
    callback=_when,
    help="Failed deliveries created at or after this date (default: BRIDGE_RECONCILE_WINDOW "
    "ago, 24h).",
)
@click.option(
    "--redeliver", is_flag=True, help="Ask App Store Connect to redeliver instead of storing."
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def reconcile(
    sources: tuple[str, ...], since: float | None, redeliver: bool, as_json: bool
) -> None:
    """Recover events whose webhook delivery failed (bridge down, network): store each one
    from App Store Connect's delivery log, once, so the dispatcher sends it."""
    now = time.time()
    with commands.services() as services, _api():
        settings = services.settings
        report = run_reconcile(
            services.require_asc(),
            services.store,
            services.routes,
            since=now - settings.reconcile_window if since is None else since,
            now=now,
            sources=list(sources) or None,
            redeliver=redeliver,
            retention=settings.retention,
        )
    if as_json:
        _json(report.as_dict())
    else:
        click.echo(report.describe())
        if report.recovered:
            click.echo("a running bridge dispatches recovered events within its poll interval")
    if report.errors:
        raise click.ClickException("; ".join(report.errors))
    reasons = [part.skipped for part in report.sources]
    if reasons and all(reasons):  # no source was read: exit 1, a cron job must notice
        raise click.ClickException(f"nothing reconciled: {reasons[0]}")
