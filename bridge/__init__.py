"""bridge: App Store Connect and Pgyer webhooks → GitHub Actions dispatches.

Importing this package does nothing: no settings read, no file opened, no thread started.
:func:`create_app` builds a configured app (gunicorn: ``bridge:create_app()``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(
    config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None
) -> Flask:
    """See :func:`bridge.app.create_app`."""
    from bridge.app import create_app as build  # noqa: PLC0415  (importing bridge stays free)

    return build(config, environ=environ)
