import pytest

from bridge.errors import SignatureError
from bridge.providers.signatures import apple_signature, verify_apple, verify_token

# Apple's published test vector (shared/samples/README.md; configuring-webhook-notifications).
APPLE_SECRET = "This is my secret"
APPLE_BODY = b"Hello, World!"
APPLE_HEADER = "hmacsha256=7f062172b01cb00b53ca068614674a3d982a34062a0f5d37687d5e3377e54657"


def test_apple_test_vector_signs() -> None:
    assert apple_signature(APPLE_BODY, APPLE_SECRET) == APPLE_HEADER


def test_apple_test_vector_verifies() -> None:
    verify_apple(APPLE_BODY, header=APPLE_HEADER, secrets=[APPLE_SECRET])


def test_uppercase_hex_and_prefix_accepted() -> None:
    verify_apple(APPLE_BODY, header=APPLE_HEADER.upper(), secrets=[APPLE_SECRET])


@pytest.mark.parametrize("secrets", [["new", APPLE_SECRET], [APPLE_SECRET, "old"]])
def test_rotation_any_configured_secret_verifies(secrets: list[str]) -> None:
    verify_apple(APPLE_BODY, header=APPLE_HEADER, secrets=secrets)


@pytest.mark.parametrize(
    ("body", "header", "secrets", "message"),
    [
        (APPLE_BODY + b" ", APPLE_HEADER, [APPLE_SECRET], "does not match"),
        (APPLE_BODY, APPLE_HEADER, ["another secret"], "does not match"),
        (APPLE_BODY, None, [APPLE_SECRET], "missing X-Apple-Signature"),
        (APPLE_BODY, "", [APPLE_SECRET], "missing X-Apple-Signature"),
        (APPLE_BODY, APPLE_HEADER.replace("hmacsha256=", "sha256="), [APPLE_SECRET], "start with"),
        (APPLE_BODY, APPLE_HEADER.removeprefix("hmacsha256="), [APPLE_SECRET], "start with"),
        (APPLE_BODY, "hmacsha256=", [APPLE_SECRET], "does not match"),
        (APPLE_BODY, "hmacsha256=zz\u00e9", [APPLE_SECRET], "does not match"),
        (APPLE_BODY, APPLE_HEADER, [], "no webhook secret"),
    ],
    ids=[
        "tampered-body",
        "wrong-secret",
        "missing-header",
        "empty-header",
        "github-style-prefix",
        "no-prefix",
        "empty-digest",
        "non-ascii-digest",
        "no-secret-configured",
    ],
)
def test_apple_rejections(
    body: bytes, header: str | None, secrets: list[str], message: str
) -> None:
    with pytest.raises(SignatureError, match=message) as info:
        verify_apple(body, header=header, secrets=secrets)
    assert APPLE_SECRET not in str(info.value)
    assert "7f0621" not in str(info.value)


def test_token_accepts_any_configured_token() -> None:
    verify_token("b", tokens=["a", "b"])


@pytest.mark.parametrize(
    ("given", "tokens", "message"),
    [
        (None, ["t"], "missing 'token'"),
        ("", ["t"], "missing 'token'"),
        ("not-the-token", ["t"], "wrong 'token'"),
        ("t ", ["t"], "wrong 'token'"),
        ("\udcff", ["t"], "wrong 'token'"),
        ("a-token", [], "no token is configured"),
    ],
)
def test_token_rejections(given: str | None, tokens: list[str], message: str) -> None:
    with pytest.raises(SignatureError, match=message) as info:
        verify_token(given, tokens=tokens)
    if given:  # the token received is never echoed back
        assert given not in str(info.value)
    for token in tokens:
        assert f"'{token}'" not in str(info.value).replace("'token'", "")
