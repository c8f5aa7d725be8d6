"""``bridge check`` and ``bridge simulate``: routes.yaml without a server."""

from __future__ import annotations

import json
import time
from typing import BinaryIO

import click

from bridge.cli import common as commands
from bridge.delivery.preview import simulate as simulate_body
from bridge.delivery.template_check import check_templates, describe
from bridge.errors import PayloadError, UnknownSourceError
from bridge.routing.model import Notify, RepositoryDispatch


@click.command()
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too (for CI).")
def check(strict: bool) -> None:
    """Validate routes.yaml and the variables it uses, and render every template against the
    recorded webhooks; exit 1 on error (--strict: on any warning too). The sources' secrets
    may be unset (nothing is verified): check names the ones the server will need."""
    settings = commands.settings()
    routes, missing = commands.routes_without_credentials(settings)
    commands.say_credentials_needed(missing)
    warnings = list(routes.warnings)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    templates = check_templates(routes)
    for failure in templates.failures:
        click.echo(f"error: {failure}", err=True)
    if templates.failures:
        count = len(templates.failures)
        raise click.ClickException(
            f"{count} rendering{'' if count == 1 else 's'} failed: each would fail its delivery"
        )
    click.echo(f"{routes.path}: OK, {len(routes.sources)} source(s), {len(routes.routes)} route(s)")
    for source in routes.sources.values():
        click.echo(f"  source {source.name} ({source.provider}): POST /webhooks/{source.name}")
    for route in routes.routes:
        target = route.dispatch
        if isinstance(target, Notify):
            what = ", ".join(f"{t} ({routes.targets[t].kind})" for t in target.targets)
            click.echo(f"  route {route.name}: notify {what}")
            continue
        if isinstance(target, RepositoryDispatch):
            what = f"repository_dispatch {target.event_type}"
        else:
            what = f"workflow_dispatch {target.workflow}@{target.ref}"
        click.echo(f"  route {route.name}: {target.repository} {what}")
    if settings.dry_run:
        click.echo("GitHub: dry run (BRIDGE_DRY_RUN): deliveries are recorded, not sent")
    elif routes.dispatches_to_github and not settings.github_configured:
        click.echo("warning: no GitHub credentials (GITHUB_TOKEN or GITHUB_APP_*)", err=True)
    for line in describe(templates):
        click.echo(line)
    if strict and warnings:
        count = len(warnings)
        raise click.ClickException(f"{count} warning{'' if count == 1 else 's'} (--strict)")


@click.command()
@click.argument("source")
@click.argument("file", type=click.File("rb"))
def simulate(source: str, file: BinaryIO) -> None:
    """Show which routes FILE (a webhook body, - for stdin) matches on SOURCE and exactly what
    each would send. Sends nothing, stores nothing, checks no signature. Exits 1 when a
    matched route cannot be rendered (its delivery would fail)."""
    body = file.read()
    with commands.services(credentials=False) as services:
        try:
            result = simulate_body(
                services.routes, source, body, contexts=services.preview_contexts, now=time.time()
            )
        except UnknownSourceError as exc:
            raise click.ClickException(exc.message) from exc
        except PayloadError as exc:
            raise click.ClickException(f"{getattr(file, 'name', '-')}: {exc.message}") from exc
    click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    failed = [outcome for outcome in result.matched if outcome.error is not None]
    if failed:
        names = ", ".join(outcome.route for outcome in failed)
        raise click.ClickException(f"cannot render {names}: the delivery would fail")
