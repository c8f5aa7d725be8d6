"""``bridge db upgrade`` and ``bridge prune``: the database, for operators.

Migrations also run when any bridge process opens the store (safely, when several start at
once); ``db upgrade`` is the explicit step for a Heroku release phase
(``release: bridge db upgrade`` in the Procfile).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import click

from bridge.cli import common as commands
from bridge.config import parse_duration
from bridge.errors import ConfigError


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
def upgrade() -> None:
    """Create or migrate the schema of DATABASE_URL's database, then exit."""
    with commands.services(with_routes=False, create=True) as services:  # opening migrates
        click.echo(f"database schema at version {services.store.migrate()}")


@click.command()
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="DURATION",
    help="Age of the events to delete, with a unit: 30d, 12h.",
)
@click.option(
    "--include-failed", is_flag=True, help="Delete failed deliveries too (kept otherwise)."
)
@click.option("--dry-run", "dry_run", is_flag=True, help="Say what would go; delete nothing.")
@click.option("--yes", "-y", "yes", is_flag=True, help="Delete without asking (for scripts).")
def prune(older_than: str, include_failed: bool, dry_run: bool, yes: bool) -> None:
    """Delete old events whose deliveries are finished, with their deliveries and attempts.
    Pending deliveries are never deleted; failed ones only with --include-failed.

    Says how many events would go and asks first (--yes to skip the question, --dry-run to
    only look): a deleted event loses its duplicate protection, so a redelivery of it would be
    dispatched again."""
    try:
        age = parse_duration(older_than, name="--older-than")
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    before = time.time() - age
    cutoff = datetime.fromtimestamp(before, UTC).strftime("%Y-%m-%d %H:%M UTC")
    with commands.services(with_routes=False) as services:
        store = services.store
        count = store.prune(before=before, include_failed=include_failed, dry_run=True)
        events = f"{count} event{'' if count == 1 else 's'}"
        kept = "pending deliveries are kept" + ("" if include_failed else ", and failed ones")
        click.echo(f"{events} received before {cutoff} would be deleted ({kept})")
        if dry_run or count == 0:
            return
        if not yes:
            click.echo(
                "a deleted event is no longer recognised as a duplicate: if its sender "
                "delivers it again, it is dispatched again"
            )
            try:
                click.confirm(f"delete {events}?", abort=True)
            except click.Abort:  # "n", or no terminal to answer (a cron job without --yes)
                message = "nothing deleted (add --yes to delete without asking)"
                raise click.ClickException(message) from None
        pruned = store.prune(before=before, include_failed=include_failed)
    click.echo(f"pruned {pruned} event{'' if pruned == 1 else 's'} older than {older_than}")
