import io
import json
import logging
from collections.abc import Iterator

import pytest

from bridge import logs


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("POST /webhooks/beta?token=abc123XYZ HTTP/1.1", "abc123XYZ"),
        ("X-Apple-Signature: hmacsha256=7f062172b01cb00b53ca", "7f062172b01cb00b53ca"),
        ("Authorization: token ghp_abcdefghijklmnop", "ghp_abcdefghijklmnop"),
        ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "eyJhbGciOiJSUzI1NiJ9"),
        (
            '{"token": "ghs_installation_token_value", "expires_at": "x"}',
            "ghs_installation_token_value",
        ),
        ("{'token': 'ghs_other', 'x': 1}", "ghs_other"),
        ("url?access_token=dingtalk-secret&x=1", "dingtalk-secret"),
    ],
)
def test_redact(line: str, secret: str) -> None:
    cleaned = logs.redact(line)
    assert secret not in cleaned
    assert "***" in cleaned


def test_redact_leaves_ordinary_text() -> None:
    text = "accepted buildUploadStateUpdated → build-complete (3 routes)"
    assert logs.redact(text) == text


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.getLogger("github").setLevel(logging.NOTSET)


def _configure(stream: io.StringIO, fmt: str) -> None:
    logs.configure("DEBUG", fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_filter_scrubs_any_logger_at_debug(captured: io.StringIO) -> None:
    _configure(captured, "text")
    logging.getLogger("urllib3.connectionpool").debug("GET /x?token=%s", "s3cr3t-value")
    assert "s3cr3t-value" not in captured.getvalue()
    assert "token=***" in captured.getvalue()


def test_pygithub_debug_lines_are_held_back(captured: io.StringIO) -> None:
    _configure(captured, "text")
    logging.getLogger("github.Requester").debug('POST … ==> 201 {"token": "ghs_leak"}')
    assert captured.getvalue() == ""


def test_json_format_one_object_per_line_with_fields(captured: io.StringIO) -> None:
    _configure(captured, "json")
    logging.getLogger("bridge.test").info(
        "delivered %s", "x", extra={"event_id": "e1", "route": "r", "attempt": 2}
    )
    [line] = captured.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "delivered x"
    assert (record["level"], record["event_id"], record["route"], record["attempt"]) == (
        "info",
        "e1",
        "r",
        2,
    )


def test_text_format_appends_fields(captured: io.StringIO) -> None:
    _configure(captured, "text")
    logging.getLogger("bridge.test").warning("retry", extra={"delivery_id": "d1", "status": 502})
    assert captured.getvalue().rstrip().endswith("retry delivery_id=d1 status=502")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "text"),
        ({"DYNO": "web.1"}, "json"),  # Heroku
        ({"RENDER": "true"}, "json"),  # Render
        ({"DYNO": "web.1", "LOG_FORMAT": "text"}, "text"),  # explicit wins
        ({"LOG_FORMAT": "JSON"}, "json"),
    ],
)
def test_json_is_the_default_on_heroku_and_render(env: dict[str, str], expected: str) -> None:
    assert logs.log_format(env) == expected


def test_gunicorn_access_lines_are_json_with_fields(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gunicorn.config import Config

    monkeypatch.setenv("LOG_FORMAT", "json")
    config = Config()
    config.set("accesslog", "-")
    gunicorn_log = logs.GunicornLogger(config)
    for handler in gunicorn_log.access_log.handlers:
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(captured)
    atoms = {"h": "10.0.0.1", "m": "POST", "U": "/webhooks/beta", "s": "202", "M": 3}
    gunicorn_log.access_log.info("%(m)s %(U)s %(s)s token=abc123", atoms)
    record = json.loads(captured.getvalue())
    assert (record["method"], record["path"], record["status"]) == ("POST", "/webhooks/beta", 202)
    assert (record["duration_ms"], record["remote"]) == (3, "10.0.0.1")
    assert "abc123" not in captured.getvalue()


def test_bridge_access_lines_are_the_ones_gunicorn_would_write(captured: io.StringIO) -> None:
    """The compact access() writes exactly gunicorn's line for bridge's format."""
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn import glogging
    from gunicorn.config import Config

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", logs.ACCESS_LOG_FORMAT)
    ours, theirs = logs.GunicornLogger(config), glogging.Logger(config)
    for logger in (ours, theirs):
        for handler in logger.access_log.handlers:
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(captured)
            handler.setFormatter(logging.Formatter("%(message)s"))
    environ = {
        "REMOTE_ADDR": "10.0.0.7", "REQUEST_METHOD": "POST", "PATH_INFO": '/webhooks/"beta"',
        "QUERY_STRING": "token=abc123", "RAW_URI": "/webhooks/beta?token=abc123",
        "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_USER_AGENT": "Pgyer",
    }  # fmt: skip
    response = SimpleNamespace(status="202 ACCEPTED", sent=57, headers=[("X-A", "b")])
    request = SimpleNamespace(headers=[("USER-AGENT", "Pgyer")])
    took = timedelta(milliseconds=3, microseconds=400)
    written = []
    for logger in (ours, theirs):
        logger.access(response, request, environ, took)  # type: ignore[arg-type]  # stand-ins
        written.append(captured.getvalue())
        captured.seek(0)
        captured.truncate()
    assert written[0] == written[1]
    assert '10.0.0.7 "POST /webhooks/\\"beta\\" HTTP/1.1" 202 57 3ms\n' in written[0]
