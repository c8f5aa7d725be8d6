"""The App Store Connect API key settings (bridge/config.py) and AscClient.from_settings() configuration
errors. Secrets never appear in an error message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bridge.appstoreconnect.client import AscClient
from bridge.config import Settings
from bridge.errors import ConfigError
from tests.fakes.appstoreconnect import AscKey, FakeAppStoreConnect

BUILD_UPLOAD = "/v1/buildUploads/1f2c3d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
KEY_VARIABLE = "ASC_PRIVATE_KEY (or ASC_PRIVATE_KEY_PATH)"


def key_env(key: AscKey, **extra: str) -> dict[str, str]:
    return {"ASC_KEY_ID": key.key_id, "ASC_ISSUER_ID": key.issuer_id, **extra}


def body_line(pem: str) -> str:
    """A line of the key's base64 body: what must never be echoed."""
    return pem.strip().splitlines()[1]


def pkcs8(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(name="rsa_pem", scope="module")
def rsa_pem_fixture() -> str:
    return pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048))


# Settings.from_env ---------------------------------------------------------------------------


def test_unset_by_default() -> None:
    settings = Settings.from_env({})

    assert settings.asc_key_id is None
    assert settings.asc_issuer_id is None
    assert settings.asc_private_key is None
    assert settings.asc_api_url == "https://api.appstoreconnect.apple.com"
    assert settings.asc_timeout == 10.0
    assert settings.asc_missing == ["ASC_KEY_ID", "ASC_ISSUER_ID", KEY_VARIABLE]


def test_key_from_file(asc_key: AscKey, tmp_path: Path) -> None:
    path = asc_key.write_p8(tmp_path)

    settings = Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY_PATH=str(path)))

    assert settings.asc_key_id == asc_key.key_id
    assert settings.asc_issuer_id == asc_key.issuer_id
    assert settings.asc_private_key == asc_key.private_pem
    assert settings.asc_missing == []


def test_key_from_content(asc_key: AscKey) -> None:
    settings = Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY=asc_key.private_pem))

    assert settings.asc_private_key == asc_key.private_pem
    assert settings.asc_missing == []


def test_one_line_key_with_escaped_newlines_is_restored(asc_key: AscKey) -> None:
    one_line = asc_key.private_pem.replace("\n", "\\n")
    assert "\n" not in one_line

    settings = Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY=one_line))

    assert settings.asc_private_key == asc_key.private_pem


def test_key_is_not_in_repr(asc_key: AscKey) -> None:
    settings = Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY=asc_key.private_pem))

    assert body_line(asc_key.private_pem) not in repr(settings)


def test_both_key_variables_is_an_error(asc_key: AscKey, tmp_path: Path) -> None:
    path = asc_key.write_p8(tmp_path)
    env = key_env(asc_key, ASC_PRIVATE_KEY=asc_key.private_pem, ASC_PRIVATE_KEY_PATH=str(path))

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)

    message = str(caught.value)
    assert "ASC_PRIVATE_KEY" in message
    assert "ASC_PRIVATE_KEY_PATH" in message
    assert body_line(asc_key.private_pem) not in message


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8"])
def test_unreadable_key_file_names_the_variable_not_the_key(
    asc_key: AscKey, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "AuthKey.p8"
    if kind == "directory":
        path.mkdir()
    elif kind == "not-utf8":
        path.write_bytes(asc_key.private_pem.encode() + b"\xff\xfe")

    with pytest.raises(ConfigError) as caught:
        Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY_PATH=str(path)))

    message = str(caught.value)
    assert message.startswith("ASC_PRIVATE_KEY_PATH=")
    assert str(path) in message
    assert "cannot read the key" in message
    assert body_line(asc_key.private_pem) not in message
    assert "PRIVATE KEY" not in message


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"ASC_KEY_ID": "ABC123DEFG"}, ["ASC_ISSUER_ID", KEY_VARIABLE]),
        ({"ASC_ISSUER_ID": "issuer"}, ["ASC_KEY_ID", KEY_VARIABLE]),
        ({"ASC_KEY_ID": "ABC123DEFG", "ASC_ISSUER_ID": "issuer"}, [KEY_VARIABLE]),
        ({"ASC_PRIVATE_KEY": "pem"}, ["ASC_KEY_ID", "ASC_ISSUER_ID"]),
        (
            {"ASC_KEY_ID": "", "ASC_ISSUER_ID": "", "ASC_PRIVATE_KEY": ""},
            ["ASC_KEY_ID", "ASC_ISSUER_ID", KEY_VARIABLE],
        ),
    ],
)
def test_asc_missing_lists_what_is_unset(env: dict[str, str], missing: list[str]) -> None:
    assert Settings.from_env(env).asc_missing == missing


def test_api_url_and_timeout(asc_key: AscKey) -> None:
    env = key_env(
        asc_key,
        ASC_PRIVATE_KEY=asc_key.private_pem,
        ASC_API_URL="http://127.0.0.1:9/",
        BRIDGE_ASC_TIMEOUT="2.5s",
    )

    settings = Settings.from_env(env)
    client = AscClient.from_settings(settings)

    assert settings.asc_api_url == "http://127.0.0.1:9/"
    assert settings.asc_timeout == 2.5
    assert client.api_url == "http://127.0.0.1:9"
    assert client.timeout == 2.5
    assert client.key_id == asc_key.key_id
    assert client.issuer_id == asc_key.issuer_id


def test_bad_timeout_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="BRIDGE_ASC_TIMEOUT"):
        Settings.from_env({"BRIDGE_ASC_TIMEOUT": "soon"})


# AscClient.from_settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["content", "escaped", "file"])
def test_configured_client_talks_to_app_store_connect(
    fake_asc: FakeAppStoreConnect, asc_key: AscKey, tmp_path: Path, source: str
) -> None:
    fake_asc.load_samples()
    if source == "file":
        extra = {"ASC_PRIVATE_KEY_PATH": str(asc_key.write_p8(tmp_path))}
    elif source == "escaped":
        extra = {"ASC_PRIVATE_KEY": asc_key.private_pem.replace("\n", "\\n")}
    else:
        extra = {"ASC_PRIVATE_KEY": asc_key.private_pem}
    settings = Settings.from_env(key_env(asc_key, ASC_API_URL=fake_asc.url, **extra))

    document = AscClient.from_settings(settings).get(BUILD_UPLOAD)

    assert document["data"]["type"] == "buildUploads"
    assert fake_asc.auth_failures == []
    assert len(fake_asc.tokens) == 1


@pytest.mark.parametrize(
    ("env", "named", "not_named"),
    [
        ({}, ["ASC_KEY_ID", "ASC_ISSUER_ID", KEY_VARIABLE], []),
        ({"ASC_KEY_ID": "ABC123DEFG"}, ["ASC_ISSUER_ID", KEY_VARIABLE], ["ASC_KEY_ID"]),
        (
            {"ASC_KEY_ID": "ABC123DEFG", "ASC_ISSUER_ID": "issuer"},
            [KEY_VARIABLE],
            ["ASC_KEY_ID", "ASC_ISSUER_ID"],
        ),
    ],
)
def test_missing_variables_are_named(
    env: dict[str, str], named: list[str], not_named: list[str]
) -> None:
    with pytest.raises(ConfigError, match="not configured") as caught:
        AscClient.from_settings(Settings.from_env(env))

    message = str(caught.value)
    for name in named:
        assert name in message
    for name in not_named:
        assert name not in message


def test_missing_key_id_is_named_even_with_a_key(asc_key: AscKey) -> None:
    env = {"ASC_ISSUER_ID": asc_key.issuer_id, "ASC_PRIVATE_KEY": asc_key.private_pem}

    with pytest.raises(ConfigError) as caught:
        AscClient.from_settings(Settings.from_env(env))

    assert "ASC_KEY_ID" in str(caught.value)
    assert body_line(asc_key.private_pem) not in str(caught.value)


def _encrypted_ec_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
        .decode()
    )


def _public_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _ed25519_pem() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.parametrize(
    "kind", ["rsa", "p384", "ed25519", "encrypted", "public", "garbage", "body-only"]
)
def test_a_key_that_is_not_an_app_store_connect_key(
    asc_key: AscKey, rsa_pem: str, kind: str
) -> None:
    pems: dict[str, Callable[[], str]] = {
        "rsa": lambda: rsa_pem,
        "p384": lambda: pkcs8(ec.generate_private_key(ec.SECP384R1())),
        "ed25519": _ed25519_pem,
        "encrypted": _encrypted_ec_pem,
        "public": _public_pem,
        "garbage": lambda: (
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"
        ),
        "body-only": lambda: "".join(asc_key.private_pem.strip().splitlines()[1:-1]),
    }
    pem = pems[kind]()
    settings = Settings.from_env(key_env(asc_key, ASC_PRIVATE_KEY=pem))

    with pytest.raises(
        ConfigError, match="ASC_PRIVATE_KEY is not an App Store Connect key"
    ) as caught:
        AscClient.from_settings(settings)

    message = str(caught.value)
    for line in pem.strip().splitlines():
        if "-----" not in line:
            assert line[:16] not in message
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "url",
    [
        "api.appstoreconnect.apple.com",
        "ftp://api.appstoreconnect.apple.com",
        "https://",
        "https:///v1",
        "//api.appstoreconnect.apple.com",
    ],
)
def test_a_bad_api_url(asc_key: AscKey, url: str) -> None:
    settings = Settings.from_env(
        key_env(asc_key, ASC_PRIVATE_KEY=asc_key.private_pem, ASC_API_URL=url)
    )

    with pytest.raises(ConfigError, match="ASC_API_URL") as caught:
        AscClient.from_settings(settings)

    assert body_line(asc_key.private_pem) not in str(caught.value)
