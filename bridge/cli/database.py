"""``bridge db upgrade`` and ``bridge prune``: the database, for operators.

Migrations also run when any bridge process opens the store (safely, when several start at
once); ``db upgrade`` is the explicit step for a Heroku release phase
(``release: bridge db upgrade`` in the Procfile).
"""

from __future__ import annotations

import time

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
    with commands.services(with_routes=False) as services:  # opening migrates
        click.echo(f"database schema at version {services.store.migrate()}")


@click.command()
@click.option(
    "--older-than",
    "older_than",
    required=True,
    metavar="DURATION",
    help="Age of the events to delete, e.g. 30d, 12h.",
)
@click.option(
    "--include-failed", is_flag=True, help="Delete failed deliveries too (kept otherwise)."
)
def prune(older_than: str, include_failed: bool) -> None:
    """Delete old events whose deliveries are finished, with their deliveries and attempts.
    Pending deliveries are never deleted; failed ones only with --include-failed."""
    try:
        age = parse_duration(older_than, name="--older-than")
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    with commands.services(with_routes=False) as services:
        count = services.store.prune(before=time.time() - age, include_failed=include_failed)
    click.echo(f"pruned {count} event{'' if count == 1 else 's'} older than {older_than}")
