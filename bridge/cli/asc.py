"""``bridge asc …``: manage App Store Connect webhooks, read their delivery log, and recover
events missed while bridge was down (``bridge asc reconcile``). This module holds the ``asc``
group and ``bridge asc webhooks``; ``ping``, ``deliveries``, ``redeliver`` and ``reconcile``
are in :mod:`bridge.cli.asc_deliveries`.

The API is docs/protocols.md, "Delivery semantics", "Webhook management API" and
"App Store Connect API token":
https://developer.apple.com/documentation/appstoreconnectapi/webhooks. The key comes from
ASC_KEY_ID, ASC_ISSUER_ID, ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH).
Every App Store Connect error is one line and exit status 1 (:mod:`bridge.cli.asc_api`);
``--json`` prints the resources' useful fields with stable keys (one object per line for lists).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import click

from bridge.appstoreconnect import webhooks as asc_webhooks
from bridge.appstoreconnect.event_types import EVENT_TYPES, EventTypeError, camel_name, event_types
from bridge.appstoreconnect.webhook_resources import Webhook
from bridge.cli import asc_api, asc_deliveries
from bridge.cli.output import echo_json, table

_SHOWN_ONCE = (
    "shown only now: App Store Connect never returns it. Put it where the source's secret comes "
    "from (e.g. ASC_WEBHOOK_SECRET) before events arrive"
)


def _events(values: Sequence[str]) -> tuple[str, ...]:
    try:
        return event_types(values)
    except EventTypeError as exc:
        raise click.BadParameter(str(exc), param_hint="'--events'") from None


def _event_names(types: Sequence[str]) -> str:
    if set(types) == set(EVENT_TYPES):
        return f"all ({len(types)})"
    return ", ".join(camel_name(t) for t in types) or "-"


def _show(hook: Webhook, secret: str | None = None) -> None:
    rows = [
        ("id", hook.id),
        ("app", hook.app_id or "-"),
        ("name", hook.name),
        ("url", hook.url),
        ("enabled", "yes" if hook.enabled else "no"),
        ("events", ", ".join(camel_name(t) for t in hook.event_types)),
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
    with asc_api.client() as client:
        hooks = asc_webhooks.list_webhooks(client, app_id)
    if as_json:
        for hook in hooks:
            echo_json(hook.as_dict())
        return
    if not hooks:
        click.echo(f"no webhooks for app {app_id}")
        return
    rows = [
        (h.id, h.name, "yes" if h.enabled else "no", h.url, _event_names(h.event_types))
        for h in hooks
    ]
    click.echo(table(("ID", "NAME", "ENABLED", "URL", "EVENTS"), rows))


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
    with asc_api.client() as client:
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
        echo_json({**hook.as_dict(), "secret": generated})
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
    with asc_api.client() as client:
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
        echo_json({**hook.as_dict(), "secret": generated})
        return
    click.echo(f"updated webhook {hook.id}")
    _show(hook, generated)


@webhooks.command()
@click.argument("webhook_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(webhook_id: str, yes: bool) -> None:
    """Delete a webhook (and its delivery log)."""
    with asc_api.client() as client:
        if not yes:
            hook = asc_webhooks.get_webhook(client, webhook_id)
            click.confirm(f"Delete webhook {hook.id} ({hook.name} → {hook.url})?", abort=True)
        asc_webhooks.delete_webhook(client, webhook_id)
    click.echo(f"deleted webhook {webhook_id}")


for command in (
    asc_deliveries.ping,
    asc_deliveries.deliveries,
    asc_deliveries.redeliver,
    asc_deliveries.reconcile,
):
    asc.add_command(command)
