"""Text logs cannot be forged: a request path carrying a newline (``%0A`` decodes to one) or
a terminal escape stays inside its own line, in gunicorn's access line and in bridge's own.
Through a real ``bridge serve`` with ``LOG_FORMAT=text``."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest

from tests.support.servers import Server, free_port

pytestmark = pytest.mark.server
FORGED = "FORGED CRITICAL admin logged in from 10.0.0.1"


def test_a_newline_in_the_path_does_not_start_a_log_line(
    environ: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "GITHUB_"))}
    env.update(environ)
    env.update({"PORT": str(free_port()), "LOG_FORMAT": "text", "LOG_LEVEL": "INFO"})
    log = tmp_path / "server.log"
    server = Server(env, log).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        forged = FORGED.replace(" ", "%20")
        for path in (f"/webhooks/x%0A{forged}", f"/webhooks/x%0D%0A{forged}%1B[2J"):
            conn.request("POST", path, body=b"{}")
            response = conn.getresponse()
            response.read()
            assert response.status == 404
        conn.close()
    finally:
        server.stop()
    lines = log.read_text().splitlines()
    assert not [line for line in lines if line.startswith("FORGED")]
    assert "\x1b" not in log.read_text()
    refused = [line for line in lines if "refused POST /webhooks/x" in line]
    assert len(refused) == 2, lines
    assert "/webhooks/x\\nFORGED CRITICAL" in refused[0]
    assert "/webhooks/x\\r\\nFORGED CRITICAL" in refused[1] and "\\x1b[2J" in refused[1]
    access = [line for line in lines if '"POST /webhooks/x' in line]
    assert len(access) == 2 and "\\nFORGED" in access[0], lines
