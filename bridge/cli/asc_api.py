"""The App Store Connect API for one ``bridge asc`` command: its client, made from the key
alone (ASC_KEY_ID, ASC_ISSUER_ID, ASC_PRIVATE_KEY or ASC_PRIVATE_KEY_PATH; no routes.yaml) and
closed when the command ends, and its errors (any
:class:`~bridge.appstoreconnect.errors.AscError`, a missing key, an unavailable store) as one
line and exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from bridge.appstoreconnect.client import AscClient
from bridge.appstoreconnect.errors import AscError, AscTransientError
from bridge.cli import common as commands
from bridge.errors import ConfigError, StoreUnavailableError


@contextmanager
def errors() -> Iterator[None]:
    """App Store Connect errors (and a missing key) as one line, exit status 1."""
    try:
        yield
    except AscTransientError as exc:
        wait = f"; App Store Connect asks to wait {exc.retry_after:g} s" if exc.retry_after else ""
        raise click.ClickException(f"{exc.message} (try again later{wait})") from None
    except AscError as exc:
        raise click.ClickException(exc.message) from None
    except (ConfigError, StoreUnavailableError) as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def client() -> Iterator[AscClient]:
    """The API client for one command, closed when it ends (the key alone: no routes.yaml)."""
    with commands.services(with_routes=False) as services, errors():
        yield services.require_asc()
