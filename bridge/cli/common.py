"""What the ``bridge`` commands share: settings, routes.yaml and the services, opened for one
command and closed when it ends, with configuration errors printed as one clear line and exit
status 1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from bridge.config import Settings
from bridge.errors import ConfigError, StoreUnavailableError
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from bridge.routing.offline import load_without_credentials
from bridge.services import Services


def settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def routes(current: Settings) -> RoutesConfig:
    try:
        return load_routes(current.routes_path, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def routes_without_credentials(current: Settings) -> tuple[RoutesConfig, list[str]]:
    """For commands that verify nothing: the routes, and the credential variables that are
    unset (the server will need them)."""
    try:
        return load_without_credentials(current.routes_path, os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def say_credentials_needed(missing: list[str]) -> None:
    if missing:
        names, them = ", ".join(missing), "it" if len(missing) == 1 else "them"
        click.echo(f"note: {names} not set: not needed here; the server will need {them}", err=True)


@contextmanager
def services(
    *, with_routes: bool = True, credentials: bool = True, create: bool = False
) -> Iterator[Services]:
    """The command's services, closed when the command ends however it ends.
    ``with_routes=False``: a command that reads the store or App Store Connect only, and must
    work without a routes.yaml (or its secrets) at hand. ``credentials=False``: a command
    that verifies no signature, and works with the sources' secrets unset (it says so).
    ``create``: the command may create the database (serve, worker, db upgrade); the others
    say there is none instead of leaving an empty one behind."""
    current = settings()
    if not with_routes:
        loaded = RoutesConfig(current.routes_path, {}, ())
    elif credentials:
        loaded = routes(current)
    else:
        loaded, missing = routes_without_credentials(current)
        say_credentials_needed(missing)
    built = Services(current, loaded, create=create)
    try:
        yield built
    except (ConfigError, StoreUnavailableError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        built.close()
