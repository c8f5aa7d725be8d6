"""``bridge events`` never writes a terminal escape or a fake line: the event's type, id and
states come from a signed payload and GitHub's message from GitHub, and all are printed with
their control characters escaped. Real requests in (Flask client), a fake GitHub on
127.0.0.1 answering with a hostile message, the real CLI out."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask import Flask

from bridge import create_app
from bridge.cli import cli
from tests.fakes.github import FakeGitHub
from tests.support.app import bridge
from tests.support.samples import sample, signed

ESCAPE = "\x1b[2J\x1b]0;owned\x07"


@pytest.fixture
def sending_env(environ: dict[str, str], fake_github: FakeGitHub) -> dict[str, str]:
    return {
        **environ,
        "BRIDGE_DRY_RUN": "0",
        "GITHUB_TOKEN": "ghp_cli_escape_test_token",
        "GITHUB_API_URL": fake_github.url,
    }


@pytest.fixture
def sending_app(sending_env: dict[str, str]) -> Iterator[Flask]:
    app = create_app(environ=sending_env)
    yield app
    bridge(app).close()


def test_events_escapes_what_payloads_and_github_wrote(
    sending_app: Flask, sending_env: dict[str, str], fake_github: FakeGitHub
) -> None:
    body = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    body["data"]["id"] = "id\nFAKE LINE" + ESCAPE
    raw = json.dumps(body).encode()
    assert (
        sending_app.test_client().post("/webhooks/ios", data=raw, headers=signed(raw)).status_code
        == 202
    )
    unrouted = json.loads(sample("appstoreconnect/build-upload-complete.json"))
    unrouted["data"]["id"] = "other"
    unrouted["data"]["type"] = "madeUp" + ESCAPE + "\u202etxt.exe"
    raw = json.dumps(unrouted).encode()
    assert (
        sending_app.test_client().post("/webhooks/ios", data=raw, headers=signed(raw)).status_code
        == 202
    )
    fake_github.enqueue(422, body={"message": "Bad\r\nFAKE GITHUB LINE" + ESCAPE})
    bridge(sending_app).dispatcher.run_once()

    output = CliRunner().invoke(cli, ["events"], env=sending_env).output
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert not [line for line in output.splitlines() if line.startswith("FAKE")]
    assert "id\\nFAKE LINE\\x1b[2J\\x1b]0;owned\\x07" in output
    assert "Bad\\r\\nFAKE GITHUB LINE\\x1b[2J" in output
    assert "madeUp\\x1b[2J\\x1b]0;owned\\x07\\u202etxt.exe" in output
