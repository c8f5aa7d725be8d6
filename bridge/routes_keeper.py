"""routes.yaml across gunicorn reloads (``kill -HUP`` on the master).

On HUP gunicorn starts new workers and stops the old ones. A new worker that cannot load
routes.yaml would fail to boot, and gunicorn then halts the whole server: one typo saved
before a reload would take the service down. The master therefore checks the file before
the new workers start (gunicorn's ``on_reload`` hook). A valid file is copied aside; an
invalid one is logged, one line per problem, and the new workers load the last valid copy,
so the service keeps running with the routes it had until the file is fixed and reloaded.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import MutableMapping

from bridge.config import DEFAULT_ROUTES
from bridge.errors import ConfigError

log = logging.getLogger(__name__)


class RoutesKeeper:
    """The last valid routes.yaml of a gunicorn master, and the ``BRIDGE_ROUTES`` its workers
    read (the process environment, inherited at fork)."""

    def __init__(self, environ: MutableMapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.configured = self.environ.get("BRIDGE_ROUTES") or DEFAULT_ROUTES
        self.folder = tempfile.mkdtemp(prefix="bridge-routes-")
        self.kept = os.path.join(self.folder, "routes.yaml")

    def check(self) -> None:
        """Check the configuration with the routes file as configured (settings, routes.yaml,
        credentials; not the database), then keep a copy of the file and point the workers
        at it again. Raises ConfigError."""
        from bridge.services import build_services  # noqa: PLC0415  (imports the app's modules)

        with build_services({**self.environ, "BRIDGE_ROUTES": self.configured}) as services:
            services.check_configuration()
        shutil.copyfile(self.configured, self.kept)
        self.environ["BRIDGE_ROUTES"] = self.configured

    def reload(self) -> bool:
        """On HUP: True when the file is valid (the new workers load it); otherwise log why
        and point the new workers at the last valid copy, and return False."""
        try:
            self.check()
        except ConfigError as exc:
            for line in str(exc).splitlines():
                log.error("reload: %s", line)
            log.error(
                "reload: %s has problems: the new workers keep the routes in use (a copy of "
                "its last valid version) until it is fixed and reloaded again",
                self.configured,
            )
            self.environ["BRIDGE_ROUTES"] = self.kept
            return False
        log.info("reload: %s loaded", self.configured)
        return True

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
