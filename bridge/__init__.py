"""bridge: App Store Connect and Pgyer webhooks → GitHub Actions dispatches.

Importing this package reads no settings, opens no file and starts no thread:
:func:`create_app` builds a configured app (gunicorn: ``bridge:create_app()``).
"""

from bridge.app import create_app
from bridge.version import __version__

__all__ = ["__version__", "create_app"]
