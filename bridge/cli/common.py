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


@contextmanager
def services(*, with_routes: bool = True) -> Iterator[Services]:
    """The command's services, closed when the command ends however it ends.
    ``with_routes=False``: a command that reads the store or App Store Connect only, and must
    work without a routes.yaml (or its secrets) at hand."""
    current = settings()
    loaded = routes(current) if with_routes else RoutesConfig(current.routes_path, {}, ())
    built = Services(current, loaded)
    try:
        yield built
    except (ConfigError, StoreUnavailableError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        built.close()
