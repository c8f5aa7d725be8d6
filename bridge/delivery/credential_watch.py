"""Credentials going bad, seen before they fail a release: a GitHub token about to expire
(GitHub says when, on every answer to a token that expires), and a GitHub or App Store
Connect credential that starts being refused. Kept in the store (shared by every process) and
reported by ``/readyz`` warnings, the delivery log and ``/metrics``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bridge.delivery.dispatch_request import DispatchRequest
from bridge.delivery.github_answers import DispatchResult, PermanentGitHubError
from bridge.delivery.outgoing import Sender
from bridge.errors import StoreUnavailableError
from bridge.intake.silence import span
from bridge.store import CredentialHealth, CredentialState

log = logging.getLogger(__name__)
GITHUB = "github"
APP_STORE_CONNECT = "appstoreconnect"
EXPIRY_WARNING = 7 * 86400.0  # warn this long before a GitHub token expires
NOTE_EVERY = 60.0  # an unchanged state is written again at most this often per process


class CredentialWatch:
    """Notes each use of a credential, writing to the store only when its state changes (or
    once a minute), and logs at WARNING when one starts being refused or will soon expire."""

    def __init__(self, store: CredentialHealth, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        # name → (refused reason or None, expires_at, when written)
        self._last: dict[str, tuple[str | None, float | None, float]] = {}

    def accepted(self, name: str, *, expires_at: float | None = None) -> None:
        self._note(name, None, expires_at)

    def refused(self, name: str, reason: str) -> None:
        self._note(name, reason, None)

    def _note(self, name: str, refused: str | None, expires_at: float | None) -> None:
        now = self.clock()
        with self._lock:
            last = self._last.get(name)
            if (
                last is not None
                and last[:2] == (refused, expires_at)
                and now - last[2] < NOTE_EVERY
            ):
                return
            self._last[name] = (refused, expires_at, now)
        try:
            self.store.note_credential(name, now=now, refused=refused, expires_at=expires_at)
        except StoreUnavailableError as exc:
            log.warning("cannot record how the %s credential is doing: %s", name, exc)
        if refused is not None and (last is None or last[0] is None):
            log.warning("the %s credential is refused: %s", name, refused)
        soon = expires_at is not None and expires_at - now < EXPIRY_WARNING
        if soon and (last is None or last[1] != expires_at):
            log.warning("the %s token %s", name, _expiry(expires_at or 0.0, now))


class WatchedSender:
    """A :class:`~bridge.delivery.dispatcher.Sender` that tells the watch how GitHub took its
    credential: accepted (with the token's expiry, when GitHub gives it) or refused (401, or
    403 for a repository it may not dispatch to)."""

    def __init__(self, sender: Sender, watch: CredentialWatch) -> None:
        self.sender = sender
        self.watch = watch

    def dispatch(
        self, request: DispatchRequest, *, before_send: Callable[[], None] | None = None
    ) -> DispatchResult:
        """Raises what the wrapped sender raises."""
        try:
            result = self.sender.dispatch(request, before_send=before_send)
        except PermanentGitHubError as exc:
            if exc.status in (401, 403):
                self.watch.refused(GITHUB, exc.message)
            raise
        self.watch.accepted(GITHUB, expires_at=result.token_expires_at)
        return result


def credential_warnings(states: Sequence[CredentialState], *, now: float) -> list[str]:
    """What is wrong or about to be, one line per credential problem."""
    lines = []
    for state in states:
        if state.refused_at is not None:
            when = datetime.fromtimestamp(state.refused_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            lines.append(
                f"the {state.name} credential is refused since {when}: {state.refused_reason}"
            )
        if state.expires_at is not None and state.expires_at - now < EXPIRY_WARNING:
            lines.append(f"the {state.name} token {_expiry(state.expires_at, now)}")
    return lines


def _expiry(expires_at: float, now: float) -> str:
    when = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if expires_at <= now:
        return f"expired at {when}"
    return f"expires in {span(expires_at - now)} ({when}): renew it"
