"""``bridge check`` and ``bridge simulate``: routes.yaml without a server."""

from __future__ import annotations

import json
from typing import Any, BinaryIO

import click

from bridge import commands
from bridge.errors import PayloadError, RenderError
from bridge.matching import match
from bridge.payloads import build_request
from bridge.providers import PROVIDERS
from bridge.routes import RepositoryDispatch


@click.command()
def check() -> None:
    """Validate routes.yaml and the variables it uses; exit 1 on error."""
    settings = commands.settings()
    routes = commands.routes(settings)
    for warning in routes.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{routes.path}: OK, {len(routes.sources)} source(s), {len(routes.routes)} route(s)")
    for source in routes.sources.values():
        click.echo(f"  source {source.name} ({source.provider}): POST /webhooks/{source.name}")
    for route in routes.routes:
        target = route.dispatch
        if isinstance(target, RepositoryDispatch):
            what = f"repository_dispatch {target.event_type}"
        else:
            what = f"workflow_dispatch {target.workflow}@{target.ref}"
        click.echo(f"  route {route.name}: {target.repository} {what}")
    if settings.dry_run:
        click.echo("GitHub: dry run (BRIDGE_DRY_RUN): deliveries are recorded, not sent")
    elif routes.routes and not settings.github_configured:
        click.echo("warning: no GitHub credentials (GITHUB_TOKEN or GITHUB_APP_*)", err=True)


@click.command()
@click.argument("source")
@click.argument("file", type=click.File("rb"))
def simulate(source: str, file: BinaryIO) -> None:
    """Show which routes FILE (a webhook body, - for stdin) matches on SOURCE and exactly what
    each would send. Sends nothing, stores nothing, checks no signature."""
    routes = commands.routes(commands.settings())
    configured = routes.sources.get(source)
    if configured is None:
        known = ", ".join(routes.sources)
        raise click.ClickException(f"unknown source {source!r} (known: {known})")
    try:
        event = PROVIDERS[configured.provider].parse(file.read(), source=source)
    except PayloadError as exc:
        raise click.ClickException(f"{getattr(file, 'name', '-')}: {exc.message}") from exc
    results: list[dict[str, Any]] = []
    for number, route in enumerate(match(routes, event), start=1):
        try:
            request = build_request(route, event, delivery_id=f"simulated-{number}")
            results.append({"route": route.name, "request": request.as_dict()})
        except RenderError as exc:
            results.append({"route": route.name, "error": str(exc)})
    output = {"event": event.as_dict(), "routes": results}
    click.echo(json.dumps(output, indent=2, ensure_ascii=False))
