"""``bridge notify-test TARGET``: post a test message to a target of routes.yaml, now, to see
that its URL, secret and room are right before an event needs them."""

from __future__ import annotations

import json
import socket

import click

from bridge.cli import common as commands
from bridge.errors import SendError
from bridge.notify.client import Notifier
from bridge.notify.message import Message
from bridge.notify.render import build_message


@click.command("notify-test")
@click.argument("target")
@click.option("--dry-run", is_flag=True, help="Show the request (secrets redacted); send nothing.")
@click.option("--timeout", type=float, default=10.0, show_default=True)
def notify_test(target: str, dry_run: bool, timeout: float) -> None:
    """Send a test message to TARGET (a key of targets: in routes.yaml) and print the
    service's answer. Exit 1 when the service refuses it."""
    routes = commands.routes(commands.settings())
    found = routes.targets.get(target)
    if found is None:
        known = ", ".join(sorted(routes.targets)) or "none"
        raise click.ClickException(f"unknown target {target!r} (targets: {known})")
    message = Message(
        "bridge test message",
        (("Target", f"{target} ({found.kind})"), ("Sent from", socket.gethostname())),
        "If you can read this, bridge can post here.",
        tone="good",
    )
    request = build_message(routes, found, message, delivery_id="notify-test")
    click.echo(json.dumps(request.as_dict(), indent=2, ensure_ascii=False))
    if dry_run:
        return
    notifier = Notifier(timeout=timeout)
    try:
        answer = notifier.send(request, found)
    except SendError as exc:
        raise click.ClickException(f"not delivered: {exc.message}") from None
    finally:
        notifier.close()
    click.echo(f"delivered: {answer.response}")
