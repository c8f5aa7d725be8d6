"""``bridge asc ping``, ``deliveries``, ``redeliver`` and ``reconcile``: test a webhook, read
its delivery log, have a delivery sent again, and recover events missed while bridge was down.

The API is docs/protocols.md, "Delivery semantics":
https://developer.apple.com/documentation/appstoreconnectapi/webhook-deliveries. Every App
Store Connect error is one line and exit status 1 (:mod:`bridge.cli.asc_api`); ``--json``
prints the resources' useful fields with stable keys (one object per line for lists).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import click

from bridge.appstoreconnect import webhooks as asc_webhooks
from bridge.appstoreconnect.event_types import camel_name
from bridge.appstoreconnect.reconcile import reconcile as run_reconcile
from bridge.appstoreconnect.webhook_resources import Delivery
from bridge.cli import asc_api
from bridge.cli import common as commands
from bridge.cli.output import as_utc, echo_json, table
from bridge.config import parse_duration

_RELATIVE = re.compile(r"^\s*\d+(?:\.\d+)?\s*(?:s|m|h|d)\s*$")


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


@click.command()
@click.argument("webhook_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def ping(webhook_id: str, as_json: bool) -> None:
    """Ask App Store Connect to send a test delivery (webhookPingCreated) to WEBHOOK_ID."""
    with asc_api.client() as client:
        ping_id = asc_webhooks.ping(client, webhook_id)
    if as_json:
        echo_json({"id": ping_id, "webhook_id": webhook_id})
        return
    click.echo(f"ping {ping_id} sent to webhook {webhook_id}")
    click.echo(f"its delivery shows in `bridge asc deliveries {webhook_id}`")


@click.command()
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
    with asc_api.client() as client:
        found = list(
            asc_webhooks.deliveries(client, webhook_id, states=states, since=since, limit=limit)
        )
    if as_json:
        for delivery in found:
            echo_json(delivery.as_dict())
        return
    if not found:
        click.echo("no deliveries")
        return
    headers = ("CREATED", "STATE", "HTTP", "EVENT", "EVENT ID", "DELIVERY", "ERROR")
    click.echo(table(headers, [_delivery_row(d) for d in found]))


def _delivery_row(d: Delivery) -> tuple[str, ...]:
    event = d.event
    if event is not None and event.ping:
        kind = "ping"
    elif event is not None and event.event_type:
        kind = camel_name(event.event_type)
    else:
        kind = "-"
    state = d.state + (" (redelivery)" if d.redelivery else "")
    http = str(d.http_status) if d.http_status is not None else "-"
    return (as_utc(d.created), state, http, kind, d.event_id or "-", d.id, d.error or "")


@click.command()
@click.argument("delivery_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def redeliver(delivery_id: str, as_json: bool) -> None:
    """Ask App Store Connect to send DELIVERY_ID's event again."""
    with asc_api.client() as client:
        new = asc_webhooks.redeliver(client, delivery_id)
    if as_json:
        echo_json(new.as_dict())
        return
    event = f" of event {new.event_id}" if new.event_id else ""
    click.echo(f"redelivery requested: delivery {new.id} ({new.state}){event}")


@click.command("reconcile")
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
    with commands.services() as services, asc_api.errors():
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
        echo_json(report.as_dict())
    else:
        click.echo(report.describe())
        if report.recovered:
            click.echo("a running bridge dispatches recovered events within its poll interval")
    if report.errors:
        raise click.ClickException("; ".join(report.errors))
    reasons = [part.skipped for part in report.sources]
    if reasons and all(reasons):  # no source was read: exit 1, a cron job must notice
        raise click.ClickException(f"nothing reconciled: {reasons[0]}")
