"""App Store Connect team API keys made for the tests, and the token check Apple makes
(docs/protocols.md, "App Store Connect API token")."""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fakes.http import RecordedRequest

AUDIENCE = "appstoreconnect-v1"
MAX_TOKEN_LIFETIME = 20 * 60
_SCOPE_IGNORED = frozenset({"limit", "cursor", "sort"})


@dataclass(frozen=True)
class AscKey:
    """An App Store Connect team API key made for the test (never a real one)."""

    key_id: str  # 10 upper-case letters and digits, like Apple's
    issuer_id: str  # a uuid4 string
    private_pem: str  # PKCS8 "-----BEGIN PRIVATE KEY-----", like AuthKey_<key_id>.p8
    public_pem: bytes  # SubjectPublicKeyInfo PEM, what the fake verifies with

    def write_p8(self, directory: Path) -> Path:
        """Write ``AuthKey_<key_id>.p8`` into ``directory``, as downloaded from Apple."""
        path = directory / f"AuthKey_{self.key_id}.p8"
        path.write_text(self.private_pem)
        return path


def generate_asc_key(key_id: str | None = None, issuer_id: str | None = None) -> AscKey:
    """A fresh EC P-256 key with a random key id and issuer id (unless given)."""
    private = ec.generate_private_key(ec.SECP256R1())
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    alphabet = string.ascii_uppercase + string.digits
    return AscKey(
        key_id=key_id or "".join(secrets.choice(alphabet) for _ in range(10)),
        issuer_id=issuer_id or str(uuid.uuid4()),
        private_pem=private_pem,
        public_pem=public_pem,
    )


def token_problem(
    token: str, key: AscKey | None, record: RecordedRequest, now: float
) -> str | None:
    """None when Apple would accept ``token`` signed with ``key`` (None: any JWT) for
    ``record`` at ``now``, else why not: header ``alg`` ES256, ``kid`` the key id, ``typ``
    JWT; a valid ES256 signature; ``iss`` the issuer id; ``aud`` appstoreconnect-v1;
    ``exp - iat`` at most 1200 s; not expired; ``iat`` at most 60 s ahead; a ``scope``, when
    present, must name the request."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        return f"not a JWT: {exc}"
    if key is None:
        return None
    if header.get("alg") != "ES256":
        return f"header alg {header.get('alg')!r} is not 'ES256'"
    if header.get("kid") != key.key_id:
        return f"header kid {header.get('kid')!r} is not the key id {key.key_id!r}"
    if header.get("typ") != "JWT":
        return f"header typ {header.get('typ')!r} is not 'JWT'"
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public_pem,
            algorithms=["ES256"],
            audience=AUDIENCE,
            options={
                "verify_exp": False,  # checked below against the fake's clock
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["iss", "iat", "exp", "aud"],
            },
        )
    except jwt.InvalidAudienceError as exc:
        return f"aud: {exc}"
    except jwt.PyJWTError as exc:
        return f"{type(exc).__name__}: {exc}"
    if claims["aud"] != AUDIENCE:
        return f"aud {claims['aud']!r} is not {AUDIENCE!r}"
    if claims["iss"] != key.issuer_id:
        return f"iss {claims['iss']!r} is not the issuer id {key.issuer_id!r}"
    iat, exp = claims["iat"], claims["exp"]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (iat, exp)):
        return f"iat {iat!r} / exp {exp!r} are not numbers"
    if exp - iat > MAX_TOKEN_LIFETIME:
        return f"lifetime exp - iat = {exp - iat:g} s is over {MAX_TOKEN_LIFETIME} s"
    if exp <= now:
        return f"expired {now - exp:.0f} s ago"
    if iat > now + 60:
        return f"iat is {iat - now:.0f} s in the future"
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + 60:
        return f"nbf is {nbf - now:.0f} s in the future"
    if "scope" in claims and not _scope_allows(claims["scope"], record):
        return f"scope {claims['scope']!r} does not allow {record.method} {record.path}"
    return None


def _scope_allows(scope: Any, record: RecordedRequest) -> bool:
    """Apple's scope: ``["GET /v1/apps?filter[platform]=IOS", …]``; parameter order, limit,
    cursor and sort do not matter."""
    if not isinstance(scope, list):
        return False

    def params(query: str) -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in parse_qsl(query) if k not in _SCOPE_IGNORED)

    wanted = (record.method, record.path, params(record.query_string))
    for entry in scope:
        method, _, target = str(entry).partition(" ")
        parts = urlsplit(target)
        if (method, parts.path, params(parts.query)) == wanted:
            return True
    return False
