"""Send a notify request: pace it, sign it, POST it once over ``requests``, and classify the
answer with its kind's rules. No retries here: the outbox owns them, as for GitHub.

The URL is used as the service gives it (any host: self-hosted Mattermost, a local Bot API
server, 127.0.0.1 in tests); redirects are not followed, so a token in a URL never travels to
a host it was not written for. Every message that leaves here is redacted with the request's
secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from bridge.delivery.github_answers import DispatchResult
from bridge.errors import PermanentSendError, SendError, TransientSendError
from bridge.notify.kinds import KINDS
from bridge.notify.pacing import Pacer
from bridge.notify.request import NotifyRequest
from bridge.routing.model import Target
from bridge.version import __version__

MAX_PACING_WAIT = 5.0  # seconds an attempt waits for its slot; longer: retried later


class Notifier:
    def __init__(
        self,
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self.sleep = sleep
        self.pacer = Pacer(clock)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"bridge/{__version__}"

    def close(self) -> None:
        self.session.close()

    def send(self, request: NotifyRequest, target: Target) -> DispatchResult:
        """POST ``request`` to ``target`` once. Raises TransientSendError (no answer, 5xx,
        rate limited, paced: retry later) or PermanentSendError (refused)."""
        kind = KINDS[target.kind]
        per_minute = target.rate_limit or kind.RATE_LIMIT
        wait = self.pacer.reserve(target.name, per_minute)
        if wait > MAX_PACING_WAIT:
            self.pacer.release(target.name)
            raise TransientSendError(
                f"held back: {target.name} takes {per_minute} messages a minute",
                retry_after=wait,
            )
        if wait:
            self.sleep(wait)
        if target.secret and request.signed:
            request = kind.sign(request, target.secret, self.clock())
        headers = {**request.headers, "Content-Type": "application/json; charset=utf-8"}
        try:
            answer = self.session.post(
                request.url,
                data=request.encoded(),
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            detail = request.redact(str(exc))
            raise TransientSendError(
                f"{target.name}: no answer ({type(exc).__name__}: {detail})"
            ) from None
        try:
            summary = kind.classify(target.name, answer.status_code, answer.headers, answer.text)
        except SendError as exc:
            message = request.redact(exc.message)
            if isinstance(exc, TransientSendError):
                if exc.retry_after:  # the service said when: every message to it waits
                    self.pacer.hold(target.name, self.clock() + exc.retry_after)
                raise TransientSendError(
                    message, status=exc.status, retry_after=exc.retry_after
                ) from None
            raise PermanentSendError(message, status=exc.status) from None
        return DispatchResult(answer.status_code, response=request.redact(summary))
