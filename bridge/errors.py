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
