"""The ``bridge`` command (docs/architecture.md, "Contract: CLI"). Each command family lives in
its own module of ``bridge/cli/``; this module only assembles the group."""

from __future__ import annotations

import json
import os
import sys

import click

from bridge.cli import asc, database, notify, operate, routing, service
from bridge.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bridge")
@click.option(
    "--routes",
    "routes_path",
    metavar="PATH",
    help="routes.yaml to use (default: $BRIDGE_ROUTES or ./routes.yaml).",
)
def cli(routes_path: str | None) -> None:
    """Turn App Store Connect and Pgyer webhooks into GitHub Actions dispatches and chat
    messages."""
    if routes_path:
        os.environ["BRIDGE_ROUTES"] = routes_path


for command in (
    service.serve,
    service.worker,
    routing.check,
    routing.simulate,
    operate.send,
    operate.events,
    operate.replay,
    notify.notify_test,
    database.db,
    database.prune,
    asc.asc,
):
    cli.add_command(command)


def main() -> None:
    """``bridge``: click's own handling, except that with ``--json`` an error is one JSON
    object on stderr (``{"error": …}``), so a script parsing the output can read it too."""
    try:
        code = cli.main(prog_name="bridge", standalone_mode=False)
    except click.ClickException as exc:
        if "--json" in sys.argv[1:]:
            click.echo(json.dumps({"error": exc.format_message()}, ensure_ascii=False), err=True)
        else:
            exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
