"""Recorded webhook bodies (tests/samples/) and the secrets the tests sign them with."""

from __future__ import annotations

from pathlib import Path

from bridge.providers.signatures import apple_signature

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ASC_SECRET = "test-asc-secret-0123456789"
ASC_OLD_SECRET = "test-asc-old-secret"  # the secret being rotated out: still accepted
PGYER_TOKEN = "test-pgyer-token-0123456789"


def sample(name: str) -> bytes:
    """A recorded webhook body, e.g. ``sample("appstoreconnect/ping.json")``."""
    return (SAMPLES / name).read_bytes()


def signed(body: bytes, secret: str = ASC_SECRET) -> dict[str, str]:
    """The headers App Store Connect sends with ``body``: its signature, its content type."""
    return {"X-Apple-Signature": apple_signature(body, secret), "Content-Type": "application/json"}
