"""The store of a web process whose database did not answer at start.

On Heroku and Render a database blip during a restart would otherwise be a crash loop
(gunicorn: "Worker failed to boot"). The web app starts anyway with this stand-in: every use
raises StoreUnavailableError (webhooks and ``/healthz`` answer 503 with ``Retry-After``, the
sender retries), and opens the real store when the database answers, trying again with
backoff (1 s doubling to 30 s) as requests and the dispatcher come by. Only one thread tries
at a time; the others are answered 503 at once rather than queued behind a connect timeout.
Each change of state is logged once: the failure at start, a different reason, recovery.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bridge.errors import StoreUnavailableError
from bridge.store.protocols import Store

log = logging.getLogger(__name__)

FIRST_RETRY = 1.0
MAX_RETRY = 30.0


class DeferredStore:
    """Stands for ``opener()``'s store until it can be opened; then forwards every attribute
    to it. ``first_error``: why it could not be opened at start."""

    def __init__(
        self,
        opener: Callable[[], Store],
        first_error: StoreUnavailableError,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._opener = opener
        self._clock = clock
        self._store: Store | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._delay = FIRST_RETRY
        self._next_try = clock() + self._delay
        self._reason = str(first_error)
        log.error(
            "store unavailable at start: %s; answering 503 until it answers, retrying",
            self._reason,
        )

    @property
    def opened(self) -> bool:
        return self._store is not None

    def _current(self) -> Store:
        store = self._store
        if store is not None:
            return store
        if self._closed or not self._lock.acquire(blocking=False):
            raise StoreUnavailableError(f"store not available yet: {self._reason}")
        try:
            if self._store is not None:
                return self._store
            now = self._clock()
            if now < self._next_try:
                raise StoreUnavailableError(f"store not available yet: {self._reason}")
            try:
                self._store = self._opener()
            except StoreUnavailableError as exc:
                self._delay = min(self._delay * 2, MAX_RETRY)
                self._next_try = now + self._delay
                if str(exc) != self._reason:
                    self._reason = str(exc)
                    log.error("store still unavailable: %s", self._reason)
                raise
            log.warning("store available again: serving normally")
            return self._store
        finally:
            self._lock.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current(), name)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._store is not None:
                self._store.close()
                self._store = None
