"""Request authentication, as pure functions on raw bytes (no I/O, no Flask).

Each function returns ``None`` when the request is authentic and raises
:class:`~bridge.errors.SignatureError` otherwise. Messages never contain secrets, tokens or
the signature received.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from bridge.errors import SignatureError

# https://developer.apple.com/documentation/appstoreconnectapi/configuring-webhook-notifications
# X-Apple-Signature: hmacsha256=<hex HMAC-SHA256 of the raw body, keyed by the webhook secret>
APPLE_SIGNATURE_HEADER = "X-Apple-Signature"
APPLE_SIGNATURE_PREFIX = "hmacsha256="


def apple_signature(body: bytes, secret: str) -> str:
    """The header value App Store Connect sends for ``body`` signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return APPLE_SIGNATURE_PREFIX + digest


def verify_apple(body: bytes, *, header: str | None, secrets: Sequence[str]) -> None:
    """Check ``X-Apple-Signature`` against every configured secret (several while rotating).

    Raises SignatureError when the header is missing, malformed, or matches no secret;
    also when ``secrets`` is empty (fail closed).
    """
    if not secrets:
        raise SignatureError("no webhook secret is configured for this source")
    if not header:
        raise SignatureError(f"missing {APPLE_SIGNATURE_HEADER} header")
    prefix, given = header[: len(APPLE_SIGNATURE_PREFIX)], header[len(APPLE_SIGNATURE_PREFIX) :]
    if prefix.lower() != APPLE_SIGNATURE_PREFIX:
        raise SignatureError(f"{APPLE_SIGNATURE_HEADER} must start with '{APPLE_SIGNATURE_PREFIX}'")
    given_bytes = given.strip().lower().encode("ascii", "replace")
    # Compare against every secret without stopping early: the time taken does not depend
    # on which secret (if any) matched.
    matches = [
        hmac.compare_digest(
            given_bytes, hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode()
        )
        for s in secrets
    ]
    if not any(matches):
        raise SignatureError(f"{APPLE_SIGNATURE_HEADER} does not match the request body")


def verify_token(given: str | None, *, tokens: Sequence[str], name: str = "token") -> None:
    """Constant-time check of a shared token (Pgyer signs nothing; a URL token stands in).

    Raises SignatureError when ``given`` is missing or equals none of ``tokens``, and when
    ``tokens`` is empty (fail closed).
    """
    if not tokens:
        raise SignatureError(f"no {name} is configured for this source")
    if not given:
        raise SignatureError(f"missing '{name}' query parameter")
    given_bytes = given.encode("utf-8", "replace")
    matches = [hmac.compare_digest(given_bytes, t.encode()) for t in tokens]
    if not any(matches):
        raise SignatureError(f"wrong '{name}' query parameter")


# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
# X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed by the webhook secret>
GITHUB_SIGNATURE_HEADER = "X-Hub-Signature-256"
GITHUB_SIGNATURE_PREFIX = "sha256="


def github_signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` signed with ``secret``."""
    return GITHUB_SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(body: bytes, *, header: str | None, secrets: Sequence[str]) -> None:
    """Check ``X-Hub-Signature-256`` against every configured secret (several while rotating).

    Raises SignatureError when the header is missing, malformed, or matches no secret;
    also when ``secrets`` is empty (fail closed). The older SHA-1 ``X-Hub-Signature`` is
    never accepted.
    """
    if not secrets:
        raise SignatureError("no webhook secret is configured for this source")
    if not header:
        raise SignatureError(f"missing {GITHUB_SIGNATURE_HEADER} header")
    prefix, given = header[: len(GITHUB_SIGNATURE_PREFIX)], header[len(GITHUB_SIGNATURE_PREFIX) :]
    if prefix.lower() != GITHUB_SIGNATURE_PREFIX:
        raise SignatureError(
            f"{GITHUB_SIGNATURE_HEADER} must start with '{GITHUB_SIGNATURE_PREFIX}'"
        )
    given_bytes = given.strip().lower().encode("ascii", "replace")
    # Every secret is compared, in constant time, whichever matches.
    matches = [
        hmac.compare_digest(
            given_bytes, hmac.new(s.encode(), body, hashlib.sha256).hexdigest().encode()
        )
        for s in secrets
    ]
    if not any(matches):
        raise SignatureError(f"{GITHUB_SIGNATURE_HEADER} does not match the request body")
