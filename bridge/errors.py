"""One small exception tree. ``bridge.app`` maps ``RequestError`` subclasses to HTTP statuses
in a single error handler; everything else is a bug or an outage, never the client's fault."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error bridge raises on purpose."""


class RequestError(BridgeError):
    """A webhook request that bridge refuses. ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureError(RequestError):
    """Missing or invalid signature / token: 401."""

    status = 401


class UnknownSourceError(RequestError):
    """``/webhooks/<source>`` names no source in routes.yaml: 404."""

    status = 404


class PayloadError(RequestError):
    """Body is not JSON, not an object, or lacks the provider's required fields: 400."""

    status = 400


class StoreUnavailableError(BridgeError):
    """The store cannot be reached; the request is answered 503 so the sender retries."""


class ConfigError(BridgeError):
    """Invalid configuration (environment or routes.yaml). The app refuses to start."""


class RenderError(BridgeError):
    """A route's templates could not be rendered for an event, or the result breaks one of
    GitHub's dispatch limits. The delivery fails at once with this message."""


class SendError(BridgeError):
    """An attempt to deliver (a GitHub dispatch, a chat message, an HTTP call) failed.
    ``status`` is the HTTP status of the answer, None when there was no answer."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransientSendError(SendError):
    """Worth retrying: network trouble, 5xx, rate limits. ``retry_after``: seconds from now
    that the server asked us to wait, None when it did not say."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Retrying cannot help: bad credentials or signature, unknown destination, invalid body."""
