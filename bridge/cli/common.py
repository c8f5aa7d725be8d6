"""``bridge`` subcommands, and what they share: settings and routes loaded with errors
printed as one clear line and exit status 1."""

from __future__ import annotations

import os

import click

from bridge.config import Settings
from bridge.errors import ConfigError, StoreUnavailableError
from bridge.routing.load import load_routes
from bridge.routing.model import RoutesConfig
from bridge.store import Store, open_store


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


def store(current: Settings) -> Store:
    try:
        return open_store(current.database_url, pool_size=current.db_pool_size)
    except (ConfigError, StoreUnavailableError) as exc:
        raise click.ClickException(str(exc)) from exc
