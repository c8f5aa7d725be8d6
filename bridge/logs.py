"""Logging setup: readable text locally, one JSON object per line when ``LOG_FORMAT=json``
(the default on Heroku and Render, whose log pipelines parse it), gunicorn's access and error
lines included.

Secrets never reach a handler: bridge logs no bodies, signatures or query strings, and the
:class:`RedactFilter` scrubs ``token=…`` / ``secret=…`` / ``signature`` values from any record
as a second line of defence (third-party libraries log URLs too), and every value that
``${VAR}`` put in a routes.yaml target (:func:`hide`): a Slack webhook's path or a Telegram
bot token carry no ``token=`` to find.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from gunicorn import glogging

from bridge.errors import ConfigError

_SECRET_VALUES = re.compile(
    r"(?i)((?:token|secret|signature|password|access_token|key)=)[^&\s\"']+"
    r"|(hmacsha256=)[0-9a-fA-F]+"
    r"|((?:bearer|token)\s+)[A-Za-z0-9._\-]{8,}"
    r"""|(["']?(?:token|secret|password|private_key)["']?\s*:\s*["'])[^"']+"""
)
_FIELDS = ("event_id", "source", "route", "delivery_id", "attempt", "status", "run_id")


# [secret (raw or URL-encoded) → how it is shown, longest first]: replaced whole, never
# mutated, so that a record being redacted on another thread sees one consistent mapping.
_hidden: list[dict[str, str]] = [{}]
_hidden_lock = threading.Lock()


def hide(secrets: Mapping[str, str]) -> None:
    """Scrub these values (secret → shown as, e.g. ``${SLACK_WEBHOOK_URL}``) from every log
    record of this process too, raw or URL-encoded."""
    with _hidden_lock:
        found = dict(_hidden[0])
        for value, shown in secrets.items():
            for part in (value, *_url_parts(value)):
                for form in (part, quote(part, safe=""), quote_plus(part)):
                    found.setdefault(form, shown)
        _hidden[0] = dict(sorted(found.items(), key=lambda item: -len(item[0])))


def _url_parts(value: str) -> tuple[str, ...]:
    """A webhook URL's credential is in its path or query, which libraries log without the
    host (``POST /services/T…/B…/x… HTTP/1.1``): those parts are hidden as well."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ()
    path_query = parts.path + (f"?{parts.query}" if parts.query else "")
    found = [path_query, parts.query] if parts.query else [path_query]
    return tuple(p for p in found if len(p) > 1)


def redact(text: str) -> str:
    for value, shown in _hidden[0].items():
        if value in text:
            text = text.replace(value, shown)
    return _SECRET_VALUES.sub(lambda m: next(g for g in m.groups() if g) + "***", text)


class RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# C0 and C1 controls, DEL, the Unicode line and paragraph separators and the bidirectional
# overrides: a decoded request path (``/x%0A2026-… CRITICAL …``) or a payload's string must not
# start a line of its own, drive a terminal (``\x1b[…``) or reorder what an operator reads.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """``text`` on one line: every control character as a ``\\xNN`` / ``\\uNNNN`` escape."""
    return _CONTROLS.sub(lambda m: ascii(m.group())[1:-1], text)


class EscapeControlsFilter(logging.Filter):
    """Text format: the message of every record (bridge's, gunicorn's, a library's) on one
    line. JSON lines need no such filter: the encoder escapes control characters. A
    traceback added by the formatter keeps its own lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        pairs = [
            f"{k}={escape_controls(str(getattr(record, k)))}" for k in _FIELDS if hasattr(record, k)
        ]
        return f"{line} {' '.join(pairs)}" if pairs else line


# %(U)s is the path *without* the query string: Pgyer's ?token= never reaches a log line.
# (gunicorn's default format's %(r)s request line would include it.)
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
# gunicorn's access-log atoms worth a field of their own (%(U)s: the path without the query).
_ACCESS_ATOMS = {"m": "method", "U": "path", "s": "status", "M": "duration_ms", "h": "remote"}
_ACCESS_FIELDS = ("method", "path", "duration_ms", "remote")


class AccessFields(logging.Filter):
    """Copies gunicorn's access-log atoms onto the record as fields (before RedactFilter,
    which replaces a scrubbed record's arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            for atom, name in _ACCESS_ATOMS.items():
                value = record.args[atom]
                setattr(record, name, int(str(value)) if str(value).isdigit() else value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        obj.update({k: getattr(record, k) for k in _FIELDS if hasattr(record, k)})
        obj.update({k: getattr(record, k) for k in _ACCESS_FIELDS if hasattr(record, k)})
        if record.exc_info:
            obj["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(obj, ensure_ascii=False, default=str)


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """``LOG_FORMAT`` when set; otherwise ``json`` on Heroku (``DYNO``) and Render
    (``RENDER``), ``text`` elsewhere."""
    env = os.environ if environ is None else environ
    if env.get("LOG_FORMAT"):
        return env["LOG_FORMAT"].strip().lower()
    return "json" if env.get("DYNO") or env.get("RENDER") else "text"


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """Configure the root logger once for a bridge process (``LOG_LEVEL``, ``LOG_FORMAT``)."""
    handler = logging.StreamHandler(sys.stdout)
    use_json = (fmt or log_format()).lower() == "json"
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(RedactFilter())
    if not use_json:
        handler.addFilter(EscapeControlsFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    # PyGithub's DEBUG lines include response bodies, and the GitHub App token exchange
    # answers with the installation token: never let them through.
    logging.getLogger("github").setLevel(max(root.level, logging.INFO))


def refuse_to_start(reason: str, *, logger: str = "bridge") -> None:
    """Say why the process cannot start, on stderr (where the CLI's errors go): one record per
    problem (routes.yaml reports every problem on its own line), each one line of text or one
    JSON object by ``LOG_FORMAT``, never a traceback. The caller then exits non-zero."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format() == "json" else TextFormatter())
    handler.addFilter(RedactFilter())
    for line in reason.splitlines() or [reason]:
        if line.strip():
            record = logging.LogRecord(
                logger, logging.ERROR, __file__, 0, "cannot start: %s", (line.strip(),), None
            )
            handler.handle(record)
    handler.flush()


class GunicornLogger(glogging.Logger):
    """gunicorn's own lines (access log, worker errors) in bridge's format, redacted too."""

    def access(
        self, resp: Any, req: Any, environ: MutableMapping[str, Any], request_time: Any
    ) -> None:
        """The same line as gunicorn's, built from the seven atoms ACCESS_LOG_FORMAT uses:
        gunicorn's own ``atoms()`` copies every header and environ variable for each request
        (a fifth of the CPU an accepted webhook costs, measured with py-spy)."""
        if self.cfg.access_log_format != ACCESS_LOG_FORMAT or not self.access_log_enabled:
            super().access(resp, req, environ, request_time)
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        atoms = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "m": environ.get("REQUEST_METHOD"),
            "U": environ.get("PATH_INFO"),
            "H": environ.get("SERVER_PROTOCOL"),
            "s": status,
            "B": getattr(resp, "sent", None),
            "M": request_time.seconds * 1000 + request_time.microseconds // 1000,
        }
        try:
            self.access_log.info(ACCESS_LOG_FORMAT, glogging.SafeAtoms(atoms))
        except Exception:  # as gunicorn does: a broken log line must not break the request
            self.error(traceback.format_exc())

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """A configuration error in a worker is one line per problem, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConfigError):
            for line in str(error).splitlines():
                self.error("cannot start: %s", line)
            return
        super().exception(msg, *args, **kwargs)

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        use_json = log_format() == "json"
        for logger in (self.error_log, self.access_log):
            for handler in logger.handlers:
                if use_json:
                    handler.setFormatter(JsonFormatter())
                if logger is self.access_log:
                    handler.addFilter(AccessFields())
                handler.addFilter(RedactFilter())
                if not use_json:
                    handler.addFilter(EscapeControlsFilter())
