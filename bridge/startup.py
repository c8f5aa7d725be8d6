"""The one line a bridge process logs when it starts: dry run or live, which routes file,
which database, which repositories. Read on release day to answer "is this the bridge I
think it is?" without opening a shell."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from bridge.config import Settings
from bridge.routing.model import Notify, RoutesConfig
from bridge.version import __version__


def database_for_humans(url: str) -> str:
    """``url`` without its password (PostgreSQL URLs carry one), query string included
    only as ``?…`` (libpq parameters may hold secrets too)."""
    parts = urlsplit(url)
    if parts.password is None and not parts.query:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        user = parts.username or ""
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def summary(settings: Settings, routes: RoutesConfig, *, process: str) -> str:
    """``process`` (``web``, ``worker``) in one line, for the log at start."""
    if settings.dry_run:
        mode = "DRY RUN (deliveries are recorded, nothing is sent; BRIDGE_DRY_RUN)"
    else:
        mode = f"LIVE (dispatches are sent to {settings.github_api_url})"
    repositories = sorted(
        {r.dispatch.repository for r in routes.routes if not isinstance(r.dispatch, Notify)}
    )
    line = (
        f"bridge {__version__} {process}: {mode}; routes {routes.path} "
        f"({len(routes.sources)} source(s), {len(routes.routes)} route(s)); "
        f"database {database_for_humans(settings.database_url)}; "
        f"repositories {', '.join(repositories) or 'none'}"
    )
    if routes.placeholders:
        count = len(routes.placeholders)
        line += f"; {count} route(s) use an example placeholder repository (see the warnings)"
    return line
